-- Issue 11, speed: the unique index on audit_log.leaf holds integrated
-- entries only. Every append inserted a NULL into it (its leaf is NULL
-- until the integrator reaches it), an index entry that no query reads:
-- the queries on leaf (MAX(leaf), leaf > $1 ORDER BY leaf) imply leaf IS
-- NOT NULL and use the partial index as they used the whole one
-- (TestAuditLeafIndex), and NULLs never conflicted in a unique index. An
-- append now writes two index entries, its seq's and the pending one's.
-- SQLite has no such index since its 0015 (audit_batches).
DROP INDEX audit_log_leaf;
CREATE UNIQUE INDEX audit_log_leaf ON audit_log (leaf) WHERE leaf IS NOT NULL;
