-- The offset in an image's stored data of the sealed header that the key
-- broker checks: 0 for a wholly sealed image, that of the first sealed
-- entry's content for an image with only its sensitive parts sealed.

ALTER TABLE image_keys ADD COLUMN sealed_at INTEGER NOT NULL DEFAULT 0;
