-- SQLite has one writer at a time, so ingest keeps adding to endpoint rows directly; readers use
-- the same view name as on Postgres, where it also adds counts not yet settled.
create view endpoint_totals as select * from endpoints;
