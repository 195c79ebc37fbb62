-- A commit never waits for another's lock on an endpoint row: it adds its counts to the rows no
-- other transaction holds, and appends what it adds to the others here; a periodic settle (one
-- replica at a time) adds these rows to their endpoints and deletes them. Two commits counting
-- the same hot endpoint therefore no longer run one after the other, each waiting for the
-- other's fsync. Reads add the rows not yet settled (endpoint_totals), so counts stay exact and
-- are committed with their exchanges.
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

-- Readers add an endpoint's rows to it through this index.
create index endpoint_counts_endpoint on endpoint_counts (endpoint_id);

-- Sums {"key": count} objects.
create aggregate reconstructor_sum_counts(jsonb) (
    sfunc = reconstructor_add_counts,
    stype = jsonb,
    initcond = '{}'
);

-- The catalog as readers see it: each endpoint with its counts not yet settled, looked up per
-- endpoint, so that reading one host's endpoints costs nothing for the other hosts' rows.
create view endpoint_totals as
select e.id, e.host, e.method, e.template, e.path,
       e.api or coalesce(d.api, false) as api,
       e.hits + coalesce(d.hits, 0) as hits,
       least(e.first_seen, d.first_seen) as first_seen,
       greatest(e.last_seen, d.last_seen) as last_seen,
       case when d.hits is null then e.status_codes
            else reconstructor_add_counts(e.status_codes, d.status_codes) end as status_codes,
       case when d.hits is null then e.request_content_types
            else reconstructor_add_counts(e.request_content_types, d.request_content_types)
       end as request_content_types,
       case when d.hits is null then e.response_content_types
            else reconstructor_add_counts(e.response_content_types, d.response_content_types)
       end as response_content_types,
       coalesce(e.fields, d.fields) as fields
from endpoints e
left join lateral (
    select bool_or(api) as api, sum(hits)::bigint as hits,
           min(first_seen) as first_seen, max(last_seen) as last_seen,
           reconstructor_sum_counts(status_codes) as status_codes,
           reconstructor_sum_counts(request_content_types) as request_content_types,
           reconstructor_sum_counts(response_content_types) as response_content_types,
           max(fields) as fields
    from endpoint_counts c
    where c.endpoint_id = e.id
) d on true;
