-- A host's exchange count and first/last sighting are those of its endpoints, computed when
-- read, so ingest writes a host row only when the host, a scheme or a namespace is new.
alter table hosts drop column exchanges;
alter table hosts drop column first_seen;
alter table hosts drop column last_seen;
