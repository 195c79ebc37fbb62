-- An endpoint folded into another leaves its id here, pointing at the endpoint that absorbed it.
-- Stored exchanges keep the endpoint id they were written with and reads resolve it through this
-- map, so a fold costs O(endpoints) and never rewrites exchange rows.
create table endpoint_aliases (
    alias_id    integer primary key,
    endpoint_id integer not null,
    host        text    not null
);

create index endpoint_aliases_endpoint on endpoint_aliases (endpoint_id);
create index endpoint_aliases_host on endpoint_aliases (host);
