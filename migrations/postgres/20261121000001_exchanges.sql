-- One row per captured HTTP exchange, exactly as kept after normalisation and redaction.
--
-- Partitioned by the server's receive time (never the producer's clock, which can be anything)
-- so that retention is a cheap partition drop. Daily partitions are created ahead of time by
-- reconstructor_ensure_exchange_partitions(); the default partition only catches rows if that
-- maintenance has not run.
create sequence exchanges_id_seq as bigint;

create table exchanges (
    id                      bigint      not null default nextval('exchanges_id_seq'),
    received_at             timestamptz not null default now(),
    observed_at             timestamptz not null,
    source_format           text        not null,
    scheme                  text        not null,
    host                    text        not null,
    port                    integer     not null,
    method                  text        not null,
    raw_path                text        not null,
    path                    text        not null,
    query                   text,
    status                  smallint,
    request_headers         jsonb       not null,
    request_body            bytea       not null,
    request_body_truncated  boolean     not null,
    request_content_type    text,
    -- NULL for a request-only exchange (the producer saw no response).
    response_headers        jsonb,
    response_body           bytea,
    response_body_truncated boolean,
    response_content_type   text,
    client_address          text,
    producer                jsonb,
    -- Filled by discovery; NULL until an exchange has been classified.
    endpoint_id             bigint,
    primary key (id, received_at)
) partition by range (received_at);

alter sequence exchanges_id_seq owned by exchanges.id;

create index exchanges_host_id on exchanges (host, id desc);

create table exchanges_default partition of exchanges default;

create function reconstructor_ensure_exchange_partitions(days_ahead integer)
returns integer
language plpgsql
as $$
declare
    day_start timestamptz;
    partition_name text;
    created integer := 0;
begin
    -- Replicas call this concurrently; serialise them so that none fails on a partition
    -- another one just created.
    perform pg_advisory_xact_lock(hashtext('reconstructor_ensure_exchange_partitions'));
    for offset_days in 0..days_ahead loop
        day_start := date_trunc('day', now() at time zone 'utc') at time zone 'utc'
                     + make_interval(days => offset_days);
        partition_name := 'exchanges_' || to_char(day_start at time zone 'utc', 'YYYYMMDD');
        if to_regclass(partition_name) is null then
            execute format(
                'create table %I partition of exchanges for values from (%L) to (%L)',
                partition_name, day_start, day_start + interval '1 day');
            created := created + 1;
        end if;
    end loop;
    return created;
end;
$$;
