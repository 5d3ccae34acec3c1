-- Issue 15 and issue 11 §7: what several nodes on one store share.
-- Leases: a job held by one node until it expires (a key rotation, an
-- upload in progress).
CREATE TABLE leases (
	name       TEXT PRIMARY KEY,
	owner      TEXT NOT NULL,
	expires_at INTEGER NOT NULL
);

-- The master key ring of --kms local with --kms-kek-file: each version's key
-- wrapped by the key-encryption key that every node is given.
CREATE TABLE master_keys (
	key_id     TEXT NOT NULL,
	version    INTEGER NOT NULL,
	wrapped    BLOB NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (key_id, version)
);

-- The identity signing keys: the current one's seed wrapped by the KMS.
CREATE TABLE identity_keys (
	kid          TEXT PRIMARY KEY,
	public       BLOB NOT NULL,
	seed_key_id  TEXT NOT NULL,
	seed_version INTEGER NOT NULL,
	seed_wrapped BLOB NOT NULL,
	created_at   INTEGER NOT NULL,
	is_current   INTEGER NOT NULL
);
