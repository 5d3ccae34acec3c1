-- Detection (issue 4): snapshots, idempotency keys, image roles, trusted
-- publishers, baselines, verdicts, events and the quarantine of images.
-- Only the latest snapshot of each instance is kept, with a count: the
-- unified state and the detectors need no more, and the table stays one
-- row per instance however long the fleet runs.

CREATE TABLE snapshots (
	instance_id TEXT PRIMARY KEY,
	taken_at    INTEGER NOT NULL,
	received_at INTEGER NOT NULL,
	source      TEXT NOT NULL,
	body        TEXT NOT NULL, -- the v1 JSON object
	count       INTEGER NOT NULL
) STRICT;

-- A retried batch finds its first result here; keys expire after a day.
CREATE TABLE idempotency_keys (
	user_id    TEXT NOT NULL,
	idem_key   TEXT NOT NULL,
	result     BLOB NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (user_id, idem_key)
) STRICT;
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

CREATE TABLE image_roles (
	image_id TEXT PRIMARY KEY,
	role     TEXT NOT NULL
) STRICT;

CREATE TABLE publisher_trust (
	project_id TEXT PRIMARY KEY,
	updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE baselines (
	role       TEXT NOT NULL,
	version    INTEGER NOT NULL,
	detector   TEXT NOT NULL,
	n_rows     INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	model      BLOB NOT NULL,
	PRIMARY KEY (role, version)
) STRICT;

CREATE TABLE verdicts (
	kind        TEXT NOT NULL,
	subject     TEXT NOT NULL,
	score       REAL NOT NULL,
	threshold   REAL NOT NULL,
	instances   INTEGER NOT NULL,
	explanation TEXT NOT NULL,
	state       TEXT NOT NULL,
	cleared_by  TEXT NOT NULL,
	updated_at  INTEGER NOT NULL,
	PRIMARY KEY (kind, subject)
) STRICT;

CREATE TABLE events (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	project_id TEXT NOT NULL,
	kind       TEXT NOT NULL,
	payload    TEXT NOT NULL,
	created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX events_project ON events (project_id, id);

ALTER TABLE images ADD COLUMN quarantined INTEGER NOT NULL DEFAULT 0;
CREATE INDEX instances_state ON instances (state, id);
