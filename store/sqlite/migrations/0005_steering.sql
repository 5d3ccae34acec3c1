-- No tenant can steer a verdict (issue 9).
-- A collector's hosts: the hypervisor hosts whose instances it may report,
-- comma-separated (a host name holds no comma); '' reports for none.
ALTER TABLE users ADD COLUMN hosts TEXT NOT NULL DEFAULT '';

-- A verdict's mean surprise without the per-instance cap, and for a
-- cleared verdict the uncapped score it was cleared at, which a later run
-- must exceed by a margin to flag the publisher again.
ALTER TABLE verdicts ADD COLUMN uncapped REAL NOT NULL DEFAULT 0;
ALTER TABLE verdicts ADD COLUMN cleared_score REAL NOT NULL DEFAULT 0;
