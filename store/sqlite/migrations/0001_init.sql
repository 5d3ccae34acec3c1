-- The first schema of imgward on SQLite. STRICT tables make SQLite check
-- column types as PostgreSQL does. Times are INTEGER microseconds since the
-- Unix epoch, UTC; tags and properties are JSON text.

CREATE TABLE projects (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE users (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	project_id TEXT NOT NULL,
	role       TEXT NOT NULL,
	token_hash BLOB UNIQUE, -- NULL for a user without a token
	created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX users_role ON users (role);

CREATE TABLE publishers (
	project_id   TEXT PRIMARY KEY,
	display_name TEXT NOT NULL,
	description  TEXT NOT NULL,
	contact      TEXT NOT NULL,
	verified     INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL
) STRICT;

CREATE TABLE images (
	id               TEXT PRIMARY KEY,
	name             TEXT NOT NULL,
	owner            TEXT NOT NULL,
	status           TEXT NOT NULL,
	visibility       TEXT NOT NULL,
	protected        INTEGER NOT NULL,
	disk_format      TEXT NOT NULL,
	container_format TEXT NOT NULL,
	min_disk         INTEGER NOT NULL,
	min_ram          INTEGER NOT NULL,
	size             INTEGER NOT NULL,
	checksum         TEXT NOT NULL,
	os_hash_algo     TEXT NOT NULL,
	os_hash_value    TEXT NOT NULL,
	tags             TEXT NOT NULL,
	properties       TEXT NOT NULL,
	created_at       INTEGER NOT NULL,
	updated_at       INTEGER NOT NULL
) STRICT;
-- Listings walk images newest first, by keyset on (created_at, id).
CREATE INDEX images_created ON images (created_at, id);
CREATE INDEX images_owner ON images (owner, created_at, id);
CREATE INDEX images_visibility ON images (visibility, created_at, id);
CREATE INDEX images_status ON images (status, created_at, id);

CREATE TABLE members (
	image_id   TEXT NOT NULL REFERENCES images (id) ON DELETE CASCADE,
	member_id  TEXT NOT NULL,
	status     TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (image_id, member_id)
) STRICT;
CREATE INDEX members_member ON members (member_id, status);

-- No foreign key to images: the record of a launch outlives its image.
CREATE TABLE instances (
	id            TEXT PRIMARY KEY,
	image_id      TEXT NOT NULL,
	project_id    TEXT NOT NULL,
	user_id       TEXT NOT NULL,
	host          TEXT NOT NULL,
	state         TEXT NOT NULL,
	created_at    INTEGER NOT NULL,
	terminated_at INTEGER -- NULL while running
) STRICT;
CREATE INDEX instances_image ON instances (image_id);
CREATE INDEX instances_project ON instances (project_id);
CREATE INDEX instances_created ON instances (created_at, id);

CREATE TABLE audit_log (
	seq    INTEGER PRIMARY KEY,
	time   INTEGER NOT NULL,
	actor  TEXT NOT NULL,
	action TEXT NOT NULL,
	object TEXT NOT NULL,
	result TEXT NOT NULL,
	reason TEXT NOT NULL,
	prev   BLOB NOT NULL,
	hash   BLOB NOT NULL
) STRICT;
