-- Paid images (issue 13): offers, subscriptions, product codes of images,
-- and the subscription each metered instance runs under.

CREATE TABLE offers (
	id           TEXT COLLATE "C" PRIMARY KEY,
	image_id     TEXT NOT NULL UNIQUE, -- no foreign key: the record outlives its image, for billing
	owner        TEXT NOT NULL,
	product_code TEXT NOT NULL UNIQUE,
	title        TEXT NOT NULL,
	description  TEXT NOT NULL,
	price_micros BIGINT NOT NULL,
	currency     TEXT NOT NULL,
	per          TEXT NOT NULL,
	state        TEXT NOT NULL,
	created_at   BIGINT NOT NULL,
	updated_at   BIGINT NOT NULL
);
CREATE INDEX offers_owner ON offers (owner);
CREATE INDEX offers_created ON offers (created_at, id);

CREATE TABLE subscriptions (
	id           TEXT COLLATE "C" PRIMARY KEY,
	offer_id     TEXT NOT NULL REFERENCES offers (id),
	project_id   TEXT NOT NULL,
	user_id      TEXT NOT NULL,
	terms        TEXT NOT NULL,
	price_micros BIGINT NOT NULL,
	currency     TEXT NOT NULL,
	per          TEXT NOT NULL,
	state        TEXT NOT NULL,
	created_at   BIGINT NOT NULL,
	cancelled_at BIGINT -- NULL while active
);
-- One active subscription per project and offer, however many race.
CREATE UNIQUE INDEX subscriptions_active ON subscriptions (offer_id, project_id) WHERE state = 'active';
CREATE INDEX subscriptions_project ON subscriptions (project_id);

CREATE TABLE image_product_codes (
	image_id     TEXT PRIMARY KEY REFERENCES images (id) ON DELETE CASCADE,
	product_code TEXT NOT NULL
);
CREATE INDEX image_product_codes_code ON image_product_codes (product_code);

-- An instance's times are copied here (and its termination by the trigger
-- below), so that a usage report reads one covering index and never the
-- instances table: a million records sum in well under a second.
CREATE TABLE metered_instances (
	instance_id     TEXT PRIMARY KEY REFERENCES instances (id),
	subscription_id TEXT NOT NULL REFERENCES subscriptions (id),
	offer_id        TEXT NOT NULL,
	created_at      BIGINT NOT NULL,
	terminated_at   BIGINT -- NULL while running
);
CREATE INDEX metered_instances_offer ON metered_instances (offer_id, subscription_id, created_at, terminated_at);
CREATE INDEX metered_instances_subscription ON metered_instances (subscription_id, created_at, terminated_at);

CREATE FUNCTION metered_instances_terminated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE metered_instances SET terminated_at = NEW.terminated_at WHERE instance_id = NEW.id;
	RETURN NEW;
END
$$;
CREATE TRIGGER metered_instances_terminated AFTER UPDATE OF terminated_at ON instances
	FOR EACH ROW EXECUTE FUNCTION metered_instances_terminated();
