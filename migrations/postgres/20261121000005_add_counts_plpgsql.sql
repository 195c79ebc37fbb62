-- The catalog upsert adds count objects ({"200": 3}) on every conflicting row. Adding the new
-- side's few keys one by one costs about half as much as re-aggregating both sides, and an empty
-- side (a GET has no request content type) costs nothing.
create or replace function reconstructor_add_counts(a jsonb, b jsonb)
returns jsonb
language plpgsql
immutable
as $$
declare
    k text;
    v text;
    r jsonb := coalesce(a, '{}'::jsonb);
begin
    if b is null or b = '{}'::jsonb then
        return r;
    end if;
    for k, v in select key, value from jsonb_each_text(b) loop
        r := jsonb_set(r, array[k], to_jsonb(coalesce((r ->> k)::bigint, 0) + v::bigint));
    end loop;
    return r;
end;
$$;
