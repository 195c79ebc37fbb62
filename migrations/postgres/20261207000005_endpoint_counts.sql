-- Ingest no longer updates endpoint rows: a commit appends what it adds to each endpoint it saw
-- here, and a periodic settle (one replica at a time) adds these rows to their endpoints and
-- deletes them. Two commits that count the same hot endpoint therefore never wait for each
-- other's row lock (and fsync). Reads add the rows not yet settled (endpoint_totals), so counts
-- stay exact and are committed with their exchanges.
create table endpoint_counts (
    endpoint_id            bigint      not null,
    host                   text        not null,
    api                    boolean     not null,
    hits                   bigint      not null,
    first_seen             timestamptz not null,
    last_seen              timestamptz not null,
    status_codes           jsonb       not null default '{}',
    request_content_types  jsonb       not null default '{}',
    response_content_types jsonb       not null default '{}',
    fields                 bigint
);

create index endpoint_counts_endpoint on endpoint_counts (endpoint_id);
create index endpoint_counts_host on endpoint_counts (host);

-- Sums {"key": count} objects.
create aggregate reconstructor_sum_counts(jsonb) (
    sfunc = reconstructor_add_counts,
    stype = jsonb,
    initcond = '{}'
);

-- The catalog as readers see it: each endpoint with the counts not yet settled into it.
create view endpoint_totals as
select e.id, e.host, e.method, e.template, e.path,
       e.api or coalesce(d.api, false) as api,
       e.hits + coalesce(d.hits, 0) as hits,
       least(e.first_seen, d.first_seen) as first_seen,
       greatest(e.last_seen, d.last_seen) as last_seen,
       case when d.endpoint_id is null then e.status_codes
            else reconstructor_add_counts(e.status_codes, d.status_codes) end as status_codes,
       case when d.endpoint_id is null then e.request_content_types
            else reconstructor_add_counts(e.request_content_types, d.request_content_types)
       end as request_content_types,
       case when d.endpoint_id is null then e.response_content_types
            else reconstructor_add_counts(e.response_content_types, d.response_content_types)
       end as response_content_types,
       coalesce(e.fields, d.fields) as fields
from endpoints e
left join (
    select endpoint_id, bool_or(api) as api, sum(hits)::bigint as hits,
           min(first_seen) as first_seen, max(last_seen) as last_seen,
           reconstructor_sum_counts(status_codes) as status_codes,
           reconstructor_sum_counts(request_content_types) as request_content_types,
           reconstructor_sum_counts(response_content_types) as response_content_types,
           max(fields) as fields
    from endpoint_counts
    group by endpoint_id
) d on d.endpoint_id = e.id;
