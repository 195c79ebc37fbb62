-- The endpoint catalog: derived from the exchanges (`reconstructor reprocess` rebuilds it), kept
-- up to date at ingest. Times are microseconds since the Unix epoch; lists and counts are JSON.

create table hosts (
    host        text    primary key,
    hostname    text    not null,
    port        integer not null,
    schemes     text    not null default '[]',
    namespaces  text    not null default '[]',
    exchanges   integer not null default 0,
    first_seen  integer not null,
    last_seen   integer not null
);

create table endpoints (
    id                     integer primary key autoincrement,
    host                   text    not null,
    method                 text    not null,
    template               text    not null,
    path                   text    not null,
    api                    integer not null,
    hits                   integer not null,
    first_seen             integer not null,
    last_seen              integer not null,
    status_codes           text    not null default '{}',
    request_content_types  text    not null default '{}',
    response_content_types text    not null default '{}',
    fields                 integer,
    unique (host, method, template)
);

create index endpoints_host_path on endpoints (host, path, method);

create table host_rules (
    host       text    primary key,
    rules      text    not null,
    updated_at integer not null
);

create index exchanges_endpoint on exchanges (endpoint_id);
