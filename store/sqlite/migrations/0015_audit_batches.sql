-- Audit entries written once (docs/ARCHITECTURE.md, "The audit log"). On
-- SQLite the log's one writer commits entries in seq order, so the leaves
-- an integration gives are consecutive seqs taking consecutive leaves: the
-- integrator records one row per such run in audit_batches instead of
-- updating every entry's leaf, and an entry's leaf is first_leaf + seq -
-- first_seq of the batch holding its seq. Pending entries are those above
-- the last batch's last_seq, so the leaf column and both its indexes go.
--
-- The tree's hashes are kept 64 to a row (audit_tree.hashes, 32 bytes
-- each, hash block*64+i at offset 32*i) instead of one row each: the
-- integrator writes a few rows a second instead of two a leaf.
--
-- Existing leaves become batches: one per run of entries whose seq and
-- leaf both go up by one from the previous entry's. Pending entries stay
-- pending. Every hash and leaf is kept, so every checkpoint already signed
-- still verifies.
CREATE TABLE audit_batches (
	first_seq  INTEGER PRIMARY KEY,
	last_seq   INTEGER NOT NULL,
	first_leaf INTEGER NOT NULL UNIQUE
) STRICT;
INSERT INTO audit_batches (first_seq, last_seq, first_leaf)
SELECT MIN(seq), MAX(seq), MIN(leaf) FROM (
	SELECT seq, leaf, SUM(brk) OVER (ORDER BY seq) AS run FROM (
		SELECT seq, leaf,
			CASE WHEN seq = LAG(seq) OVER w + 1 AND leaf = LAG(leaf) OVER w + 1 THEN 0 ELSE 1 END AS brk
		FROM audit_log WHERE leaf IS NOT NULL WINDOW w AS (ORDER BY seq)))
GROUP BY run;
DROP INDEX audit_log_pending;
DROP INDEX audit_log_leaf;
ALTER TABLE audit_log DROP COLUMN leaf;

CREATE TABLE audit_tree_blocks (
	block  INTEGER PRIMARY KEY,
	hashes BLOB NOT NULL
) STRICT;
INSERT INTO audit_tree_blocks (block, hashes)
SELECT idx / 64, CAST(group_concat(hash, '' ORDER BY idx) AS BLOB) FROM audit_tree GROUP BY idx / 64;
DROP TABLE audit_tree;
ALTER TABLE audit_tree_blocks RENAME TO audit_tree;
