-- Image protection (issue 3): wrapped data keys of protected images, used
-- identity nonces, plaintext fingerprints and flags of suspect images.

CREATE TABLE image_keys (
	image_id    TEXT PRIMARY KEY REFERENCES images (id) ON DELETE CASCADE,
	owner       TEXT NOT NULL,
	mode        TEXT NOT NULL,
	key_id      TEXT NOT NULL,
	key_version INTEGER NOT NULL,
	wrapped     BLOB NOT NULL,
	created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX image_keys_owner ON image_keys (owner);

-- Shared by every node, so that a document is redeemed once in the cloud.
CREATE TABLE identity_nonces (
	nonce      TEXT PRIMARY KEY,
	expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX identity_nonces_expiry ON identity_nonces (expires_at);

CREATE TABLE image_fingerprints (
	image_id TEXT PRIMARY KEY REFERENCES images (id) ON DELETE CASCADE,
	owner    TEXT NOT NULL,
	sums     BLOB NOT NULL
) STRICT;

CREATE TABLE image_flags (
	image_id     TEXT PRIMARY KEY REFERENCES images (id) ON DELETE CASCADE,
	derived_from TEXT NOT NULL,
	fraction     REAL NOT NULL,
	reason       TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	cleared_by   TEXT NOT NULL,
	cleared_at   INTEGER -- NULL while the flag stands
) STRICT;
CREATE INDEX image_flags_created ON image_flags (created_at, image_id);
