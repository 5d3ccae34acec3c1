-- Users and tokens have a lifecycle (issue 12, part 4): a user may hold
-- several tokens, each revocable and with an optional expiry, and a user
-- may be disabled. A token is found by its SHA-256 through the primary key,
-- so authentication stays one indexed lookup.

CREATE TABLE tokens (
	hash       BYTEA PRIMARY KEY,
	id         TEXT COLLATE "C" NOT NULL UNIQUE, -- first 16 hex digits of hash: shown, never the secret
	user_id    TEXT NOT NULL REFERENCES users (id),
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL, -- 0: never
	revoked_at BIGINT NOT NULL  -- 0: not revoked
);
CREATE INDEX tokens_user ON tokens (user_id, created_at);

-- Each existing user's single token moves here and keeps working. The
-- users.token_hash column stays, empty and unused: SQLite cannot drop a
-- UNIQUE column, and both stores keep one schema.
INSERT INTO tokens (hash, id, user_id, created_at, expires_at, revoked_at)
	SELECT token_hash, encode(substr(token_hash, 1, 8), 'hex'), id, created_at, 0, 0
	FROM users WHERE token_hash IS NOT NULL;
UPDATE users SET token_hash = NULL;

ALTER TABLE users ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT false;
CREATE INDEX users_project ON users (project_id, created_at);
