-- Summary rows are JSON documents of a few KB, which TOAST compresses. With pglz, the default,
-- compressing them as they were appended and decompressing them whenever a host's summaries were
-- read back (compaction, spec revisions) took ~7 % of Postgres's CPU under one-event NTA load;
-- lz4 (as for the exchanges' bodies and headers) costs a fraction of that. Rows already stored
-- keep their compression until compaction rewrites them.
alter table endpoint_summaries alter column summary set compression lz4;
