-- Detection (issue 4) on PostgreSQL, table for table as in store/sqlite:
-- snapshots, idempotency keys, image roles, trusted publishers, baselines,
-- verdicts, events and the quarantine of images.
-- Only the latest snapshot of each instance is kept, with a count: the
-- unified state and the detectors need no more, and the table stays one
-- row per instance however long the fleet runs.

CREATE TABLE snapshots (
	instance_id TEXT COLLATE "C" PRIMARY KEY,
	taken_at    BIGINT NOT NULL,
	received_at BIGINT NOT NULL,
	source      TEXT NOT NULL,
	body        TEXT NOT NULL, -- the v1 JSON object
	count       BIGINT NOT NULL
);

-- A retried batch finds its first result here; keys expire after a day.
CREATE TABLE idempotency_keys (
	user_id    TEXT COLLATE "C" NOT NULL,
	idem_key   TEXT COLLATE "C" NOT NULL,
	result     BYTEA NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (user_id, idem_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

CREATE TABLE image_roles (
	image_id TEXT COLLATE "C" PRIMARY KEY,
	role     TEXT COLLATE "C" NOT NULL
);

CREATE TABLE publisher_trust (
	project_id TEXT COLLATE "C" PRIMARY KEY,
	updated_at BIGINT NOT NULL
);

CREATE TABLE baselines (
	role       TEXT COLLATE "C" NOT NULL,
	version    BIGINT NOT NULL,
	detector   TEXT NOT NULL,
	n_rows     BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	model      BYTEA NOT NULL,
	PRIMARY KEY (role, version)
);

CREATE TABLE verdicts (
	kind        TEXT COLLATE "C" NOT NULL,
	subject     TEXT COLLATE "C" NOT NULL,
	score       DOUBLE PRECISION NOT NULL,
	threshold   DOUBLE PRECISION NOT NULL,
	instances   BIGINT NOT NULL,
	explanation TEXT NOT NULL,
	state       TEXT NOT NULL,
	cleared_by  TEXT NOT NULL,
	updated_at  BIGINT NOT NULL,
	PRIMARY KEY (kind, subject)
);

CREATE TABLE events (
	id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	project_id TEXT COLLATE "C" NOT NULL,
	kind       TEXT COLLATE "C" NOT NULL,
	payload    TEXT NOT NULL,
	created_at BIGINT NOT NULL
);
CREATE INDEX events_project ON events (project_id, id);

ALTER TABLE images ADD COLUMN quarantined BOOLEAN NOT NULL DEFAULT false;
CREATE INDEX instances_state ON instances (state, id);
