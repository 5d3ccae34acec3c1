-- Every batch of snapshots updates the one row of each of its instances.
-- With room left in each page, PostgreSQL rewrites a row within its page
-- and adds no entry to the primary key's index (a HOT update), work that
-- ingest otherwise does for every snapshot; the table, one row per
-- instance, takes about twice the space.
ALTER TABLE snapshots SET (fillfactor = 50);
