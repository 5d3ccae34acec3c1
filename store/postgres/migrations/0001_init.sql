-- The first schema of imgward on PostgreSQL, table for table the schema of
-- store/sqlite. Times are BIGINT microseconds since the Unix epoch, UTC, as
-- there, rather than timestamptz, so that both stores sort and compare alike;
-- tags and properties are JSON text, always read and written whole. Ids that
-- order listings are COLLATE "C": bytewise, as in SQLite, whatever the
-- database's locale.

CREATE TABLE projects (
	id         TEXT COLLATE "C" PRIMARY KEY,
	name       TEXT NOT NULL,
	created_at BIGINT NOT NULL
);

CREATE TABLE users (
	id         TEXT COLLATE "C" PRIMARY KEY,
	name       TEXT NOT NULL,
	project_id TEXT NOT NULL,
	role       TEXT NOT NULL,
	token_hash BYTEA UNIQUE, -- NULL for a user without a token
	created_at BIGINT NOT NULL
);
CREATE INDEX users_role ON users (role);

CREATE TABLE publishers (
	project_id   TEXT PRIMARY KEY,
	display_name TEXT NOT NULL,
	description  TEXT NOT NULL,
	contact      TEXT NOT NULL,
	verified     BOOLEAN NOT NULL,
	updated_at   BIGINT NOT NULL
);

CREATE TABLE images (
	id               TEXT COLLATE "C" PRIMARY KEY,
	name             TEXT NOT NULL,
	owner            TEXT NOT NULL,
	status           TEXT NOT NULL,
	visibility       TEXT NOT NULL,
	protected        BOOLEAN NOT NULL,
	disk_format      TEXT NOT NULL,
	container_format TEXT NOT NULL,
	min_disk         INTEGER NOT NULL,
	min_ram          INTEGER NOT NULL,
	size             BIGINT NOT NULL,
	checksum         TEXT NOT NULL,
	os_hash_algo     TEXT NOT NULL,
	os_hash_value    TEXT NOT NULL,
	tags             TEXT NOT NULL,
	properties       TEXT NOT NULL,
	created_at       BIGINT NOT NULL,
	updated_at       BIGINT NOT NULL
);
-- Listings walk images newest first, by keyset on (created_at, id).
CREATE INDEX images_created ON images (created_at, id);
CREATE INDEX images_owner ON images (owner, created_at, id);
CREATE INDEX images_visibility ON images (visibility, created_at, id);
CREATE INDEX images_status ON images (status, created_at, id);

CREATE TABLE members (
	image_id   TEXT NOT NULL REFERENCES images (id) ON DELETE CASCADE,
	member_id  TEXT COLLATE "C" NOT NULL,
	status     TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (image_id, member_id)
);
CREATE INDEX members_member ON members (member_id, status);

-- No foreign key to images: the record of a launch outlives its image.
CREATE TABLE instances (
	id            TEXT COLLATE "C" PRIMARY KEY,
	image_id      TEXT NOT NULL,
	project_id    TEXT NOT NULL,
	user_id       TEXT NOT NULL,
	host          TEXT NOT NULL,
	state         TEXT NOT NULL,
	created_at    BIGINT NOT NULL,
	terminated_at BIGINT -- NULL while running
);
CREATE INDEX instances_image ON instances (image_id);
CREATE INDEX instances_project ON instances (project_id);
CREATE INDEX instances_created ON instances (created_at, id);

CREATE TABLE audit_log (
	seq    BIGINT PRIMARY KEY,
	time   BIGINT NOT NULL,
	actor  TEXT NOT NULL,
	action TEXT NOT NULL,
	object TEXT NOT NULL,
	result TEXT NOT NULL,
	reason TEXT NOT NULL,
	prev   BYTEA NOT NULL,
	hash   BYTEA NOT NULL
);
