-- The audit tree's hashes are kept 64 to a row (audit_tree.hashes, 32
-- bytes each, hash block*64+i at offset 32*i) instead of one row each: the
-- integrator writes a few rows per integration instead of two a leaf.
-- Every hash is kept, so every checkpoint already signed still verifies.
-- (Entries keep their leaf column here: PostgreSQL's sequence has gaps and
-- its appends commit out of seq order, so the batches SQLite keeps instead,
-- runs of consecutive seqs, would not describe them.)
CREATE TABLE audit_tree_blocks (
	block  BIGINT PRIMARY KEY,
	hashes BYTEA NOT NULL
);
INSERT INTO audit_tree_blocks (block, hashes)
SELECT idx / 64, string_agg(hash, ''::bytea ORDER BY idx) FROM audit_tree GROUP BY idx / 64;
DROP TABLE audit_tree;
ALTER TABLE audit_tree_blocks RENAME TO audit_tree;
