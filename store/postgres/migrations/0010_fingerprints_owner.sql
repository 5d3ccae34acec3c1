-- Issue 11 §3: derived-content detection reads all of one owner's stored
-- fingerprints (the parts of protected images it uploaded) on each upload
-- that is such a part.
CREATE INDEX image_fingerprints_owner ON image_fingerprints (owner, image_id);
