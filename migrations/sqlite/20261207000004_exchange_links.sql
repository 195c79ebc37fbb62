-- A rebuild (reprocess, a rules change) never rewrites stored exchanges. The exchanges of a stored
-- endpoint id that now all belong to one endpoint are resolved through an alias of that id
-- (endpoint_aliases); those of a stored endpoint that a rebuild split between several endpoints
-- are linked one by one here. Reads resolve an exchange's endpoint through this table first.
create table exchange_links (
    exchange_id integer primary key,
    endpoint_id integer not null,
    host        text   not null
);

create index exchange_links_endpoint on exchange_links (endpoint_id);
create index exchange_links_host on exchange_links (host);
