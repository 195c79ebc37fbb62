-- Bodies and headers are the bulk of every row, and Postgres compresses them when they are large
-- (TOAST). Its default, pglz, was the largest single CPU cost of ingest under load; lz4 compresses
-- about as well at a fraction of the CPU. Partitions created from now on inherit the setting from
-- the parent; existing partitions are switched too (their existing rows stay as they are).
do $$
declare
    relation regclass;
    col text;
begin
    for relation in
        select 'exchanges'::regclass
        union all
        select inhrelid::regclass from pg_inherits where inhparent = 'exchanges'::regclass
    loop
        foreach col in array array['request_headers', 'request_body', 'response_headers',
                                   'response_body', 'producer']
        loop
            execute format('alter table %s alter column %I set compression lz4', relation, col);
        end loop;
    end loop;
end
$$;
