-- One row per captured HTTP exchange, exactly as kept after normalisation and redaction.
-- Times are microseconds since the Unix epoch (UTC); headers and producer metadata are JSON text.
create table exchanges (
    id                      integer primary key autoincrement,
    received_at             integer not null,
    observed_at             integer not null,
    source_format           text    not null,
    scheme                  text    not null,
    host                    text    not null,
    port                    integer not null,
    method                  text    not null,
    raw_path                text    not null,
    path                    text    not null,
    query                   text,
    status                  integer,
    request_headers         text    not null,
    request_body            blob    not null,
    request_body_truncated  integer not null,
    request_content_type    text,
    -- NULL for a request-only exchange (the producer saw no response).
    response_headers        text,
    response_body           blob,
    response_body_truncated integer,
    response_content_type   text,
    client_address          text,
    producer                text,
    -- Filled by discovery; NULL until an exchange has been classified.
    endpoint_id             integer
);

create index exchanges_host_id on exchanges (host, id desc);
