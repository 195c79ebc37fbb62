-- What the traffic showed of each endpoint's interface, for spec reconstruction (see the Postgres
-- migration of the same name).
create table endpoint_summaries (
    id         integer primary key autoincrement,
    host       text    not null,
    method     text    not null,
    template   text    not null,
    summary    text    not null,
    created_at integer not null
);

create index endpoint_summaries_host on endpoint_summaries (host);
