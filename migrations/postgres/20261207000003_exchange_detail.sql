-- Under the `sampled` storage policy most exchanges are stored as metadata only: `whole` says
-- whether headers and bodies were kept, and the body sizes are kept either way.
alter table exchanges
    add column whole boolean not null default true,
    add column request_body_size integer,
    add column response_body_size integer;
