-- Under the `sampled` storage policy most exchanges are stored as metadata only: `whole` says
-- whether headers and bodies were kept, and the body sizes are kept either way.
alter table exchanges add column whole integer not null default 1;
alter table exchanges add column request_body_size integer;
alter table exchanges add column response_body_size integer;
