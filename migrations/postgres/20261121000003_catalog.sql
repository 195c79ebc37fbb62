-- The endpoint catalog: derived from the exchanges (`reconstructor reprocess` rebuilds it), kept
-- up to date at ingest by per-batch upserts in key order.

-- One row per host key: the host name, plus ":port" when the port is not the scheme's default.
create table hosts (
    host        text        primary key,
    hostname    text        not null,
    port        integer     not null,
    schemes     text[]      not null default '{}',
    namespaces  text[]      not null default '{}',
    exchanges   bigint      not null default 0,
    first_seen  timestamptz not null,
    last_seen   timestamptz not null
);

-- One row per (host, method, template). The template is annotated with parameter types
-- (`/users/{userId:integer}`); `path` is its plain form, for filtering and ordering.
create table endpoints (
    id                     bigint      generated always as identity primary key,
    host                   text        not null,
    method                 text        not null,
    template               text        not null,
    path                   text        not null,
    api                    boolean     not null,
    hits                   bigint      not null,
    first_seen             timestamptz not null,
    last_seen              timestamptz not null,
    -- {"200": 12, "404": 1}
    status_codes           jsonb       not null default '{}',
    request_content_types  jsonb       not null default '{}',
    response_content_types jsonb       not null default '{}',
    -- A signature of the response's top-level field names, for the merge.
    fields                 bigint,
    unique (host, method, template)
);

create index endpoints_host_path on endpoints (host, path, method);

-- Per-host rules set through the API (the configuration file adds its own).
create table host_rules (
    host       text        primary key,
    rules      jsonb       not null,
    updated_at timestamptz not null default now()
);

create index exchanges_endpoint on exchanges (endpoint_id);

-- Adds two {"key": count} objects.
create function reconstructor_add_counts(a jsonb, b jsonb)
returns jsonb
language sql
immutable
as $$
    select coalesce(jsonb_object_agg(key, total), '{}'::jsonb)
    from (
        select key, sum(value::bigint) as total
        from (
            select key, value from jsonb_each_text(coalesce(a, '{}'::jsonb))
            union all
            select key, value from jsonb_each_text(coalesce(b, '{}'::jsonb))
        ) both_sides
        group by key
    ) sums
$$;
