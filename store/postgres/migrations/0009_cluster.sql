-- Issue 15 and issue 11 §7: what several nodes on one store share.
-- Leases: a job held by one node until it expires (a key rotation, an
-- upload in progress).
CREATE TABLE leases (
	name       TEXT COLLATE "C" PRIMARY KEY,
	owner      TEXT NOT NULL,
	expires_at BIGINT NOT NULL
);

-- The master key ring of --kms local with --kms-kek-file: each version's key
-- wrapped by the key-encryption key that every node is given.
CREATE TABLE master_keys (
	key_id     TEXT COLLATE "C" NOT NULL,
	version    BIGINT NOT NULL,
	wrapped    BYTEA NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (key_id, version)
);

-- The identity signing keys: the current one's seed wrapped by the KMS.
CREATE TABLE identity_keys (
	kid          TEXT COLLATE "C" PRIMARY KEY,
	public       BYTEA NOT NULL,
	seed_key_id  TEXT NOT NULL,
	seed_version BIGINT NOT NULL,
	seed_wrapped BYTEA NOT NULL,
	created_at   BIGINT NOT NULL,
	is_current   BOOLEAN NOT NULL
);
