-- The classifier refreshes incrementally: endpoints added since its last refresh are read by
-- id, and a host whose templates changed in any other way (a fold, a rebuild) is read again
-- whole. Such a change stamps its host here, one more than the highest stamp (one writer at a
-- time), as the last statement of its transaction.
create table catalog_changes (
    host text    primary key,
    seq  integer not null
);

create index catalog_changes_seq_index on catalog_changes (seq);
