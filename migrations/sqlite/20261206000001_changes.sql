-- Change tracking: spec revisions (compressed documents, bounded per host), reference specs,
-- what has been announced already, and the webhook outbox.
-- Times are microseconds since the Unix epoch.

create table spec_revisions (
    host         text        not null,
    revision     integer     not null,
    created_at   integer     not null,
    -- SHA-256 of the material surface (operations, parameters, status codes, media types,
    -- security, schema properties): equal hashes mean no material change.
    surface_hash text        not null,
    -- Counts of operations added, removed and changed against the previous revision (JSON).
    summary      text        not null,
    -- The rendered OpenAPI document, JSON compressed with zstd.
    document     blob        not null,
    primary key (host, revision)
);

create table reference_specs (
    host        text        primary key,
    -- The uploaded document as JSON (YAML uploads are converted).
    document    text        not null,
    openapi     text        not null,
    sha256      text        not null,
    uploaded_at integer     not null
);

-- Findings already announced (new endpoints, drift), so that each is announced once.
create table change_marks (
    host       text        not null,
    kind       text        not null,
    mark       text        not null,
    created_at integer     not null,
    primary key (host, kind, mark)
);

-- One row per event and subscription, written in the transaction that records the change.
create table webhook_deliveries (
    id              integer     primary key autoincrement,
    message_id      text        not null,
    event_type      text        not null,
    host            text        not null,
    url             text        not null,
    payload         text        not null,
    status          text        not null default 'pending',
    attempts        integer     not null default 0,
    next_attempt_at integer     not null,
    locked_until    integer    ,
    last_status     integer,
    last_error      text,
    created_at      integer     not null,
    delivered_at    integer    ,
    unique (message_id, url)
);

create index webhook_deliveries_due on webhook_deliveries (next_attempt_at) where status = 'pending';
