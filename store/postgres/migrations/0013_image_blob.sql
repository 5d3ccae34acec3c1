-- An image's data may move to a new blob key (an unprotected image sealed
-- when it is offered): the record names the key ('' for the image's id),
-- and switches to the new one in the transaction that records the change.
-- stale_blobs names the blobs a crash could leave unreferenced, so that a
-- sweep removes them: the new one until the switch commits, the old one
-- until it is deleted.
ALTER TABLE images ADD COLUMN blob_key TEXT NOT NULL DEFAULT '';

CREATE TABLE stale_blobs (
	blob_key   TEXT COLLATE "C" PRIMARY KEY,
	image_id   TEXT NOT NULL, -- no foreign key: the record outlives its image
	created_at BIGINT NOT NULL
);
CREATE INDEX stale_blobs_created ON stale_blobs (created_at, blob_key);
