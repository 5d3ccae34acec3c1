-- Image protection (issue 3), table for table as in store/sqlite: wrapped
-- data keys of protected images, used identity nonces, plaintext
-- fingerprints and flags of suspect images.

CREATE TABLE image_keys (
	image_id    TEXT COLLATE "C" PRIMARY KEY REFERENCES images (id) ON DELETE CASCADE,
	owner       TEXT NOT NULL,
	mode        TEXT NOT NULL,
	key_id      TEXT NOT NULL,
	key_version BIGINT NOT NULL,
	wrapped     BYTEA NOT NULL,
	created_at  BIGINT NOT NULL
);
CREATE INDEX image_keys_owner ON image_keys (owner);

-- Shared by every node, so that a document is redeemed once in the cloud.
CREATE TABLE identity_nonces (
	nonce      TEXT COLLATE "C" PRIMARY KEY,
	expires_at BIGINT NOT NULL
);
CREATE INDEX identity_nonces_expiry ON identity_nonces (expires_at);

CREATE TABLE image_fingerprints (
	image_id TEXT COLLATE "C" PRIMARY KEY REFERENCES images (id) ON DELETE CASCADE,
	owner    TEXT NOT NULL,
	sums     BYTEA NOT NULL
);

CREATE TABLE image_flags (
	image_id     TEXT COLLATE "C" PRIMARY KEY REFERENCES images (id) ON DELETE CASCADE,
	derived_from TEXT NOT NULL,
	fraction     DOUBLE PRECISION NOT NULL,
	reason       TEXT NOT NULL,
	created_at   BIGINT NOT NULL,
	cleared_by   TEXT NOT NULL,
	cleared_at   BIGINT -- NULL while the flag stands
);
CREATE INDEX image_flags_created ON image_flags (created_at, image_id);
