-- What the traffic showed of each endpoint's interface (parameters, credentials, body schemas),
-- for spec reconstruction. Each replica appends its merged observations every few seconds; the
-- discovery leader compacts a host's rows into one per endpoint. Rows name their endpoint by key,
-- not id, so that they survive the endpoint being folded into another (a reader resolves the key
-- against the catalog's templates).
create table endpoint_summaries (
    id         bigint      generated always as identity primary key,
    host       text        not null,
    method     text        not null,
    template   text        not null,
    summary    text        not null,
    created_at timestamptz not null default now()
);

create index endpoint_summaries_host on endpoint_summaries (host);
