-- Issue 11: an Idempotency-Key reused with another body is refused, not
-- answered with the first body's result: each key keeps the SHA-256 of the
-- body it was first used with. Keys stored before have none (empty), and
-- are replayed as before until they expire, within a day.
ALTER TABLE idempotency_keys ADD COLUMN body_hash BYTEA NOT NULL DEFAULT ''::bytea;
