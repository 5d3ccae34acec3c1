-- Issue 11: the audit log becomes a transparency log. Each entry gets a
-- leaf of an RFC 6962 Merkle tree (leaf NULL until the integrator reaches
-- it); audit_tree keeps the tree's hashes by golang.org/x/mod/sumdb/tlog
-- stored-hash index. Existing entries keep their version 1 hashes and are
-- integrated, in seq order, by the first integration after this migration.
ALTER TABLE audit_log ADD COLUMN leaf INTEGER;
CREATE UNIQUE INDEX audit_log_leaf ON audit_log (leaf);
CREATE INDEX audit_log_pending ON audit_log (seq) WHERE leaf IS NULL;
CREATE TABLE audit_tree (
	idx  INTEGER PRIMARY KEY,
	hash BLOB NOT NULL
) STRICT;
