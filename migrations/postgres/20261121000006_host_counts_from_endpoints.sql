-- A host's exchange count and first/last sighting are those of its endpoints, computed when
-- read: ingest no longer updates one row per host per commit (a row that every concurrent
-- commit of the host had to lock in turn).
alter table hosts
    drop column exchanges,
    drop column first_seen,
    drop column last_seen;
