package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"imgward"
)

// Offers, subscriptions, product codes and metered instances (issue 13).

func (t *tx) CreateOffer(ctx context.Context, o *imgward.Offer) error {
	return t.exec(ctx, "CreateOffer",
		`INSERT INTO offers (id, image_id, owner, product_code, title, description, price_micros,
			currency, per, state, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		string(o.ID), string(o.ImageID), string(o.Owner), string(o.ProductCode), o.Title, o.Description,
		o.Price.Micros, o.Price.Currency, string(o.Price.Per), string(o.State), micros(o.CreatedAt), micros(o.UpdatedAt))
}

const offerCols = `id, image_id, owner, product_code, title, description, price_micros, currency, per,
	state, created_at, updated_at`

func scanOffer(r interface{ Scan(...any) error }, o *imgward.Offer) error {
	return r.Scan(offerDests(o)...)
}

// offerDests lists where offerCols scan to.
func offerDests(o *imgward.Offer) []any {
	return []any{&o.ID, &o.ImageID, &o.Owner, &o.ProductCode, &o.Title, &o.Description, &o.Price.Micros,
		&o.Price.Currency, &o.Price.Per, &o.State, usec{&o.CreatedAt}, usec{&o.UpdatedAt}}
}

func (t *tx) offerWhere(ctx context.Context, op, cond string, arg any) (*imgward.Offer, error) {
	var o imgward.Offer
	if err := scanOffer(t.queryRow(ctx, `SELECT `+offerCols+` FROM offers WHERE `+cond, arg), &o); err != nil {
		return nil, t.d.wrap(op, err)
	}
	return &o, nil
}

func (t *tx) Offer(ctx context.Context, id imgward.OfferID) (*imgward.Offer, error) {
	return t.offerWhere(ctx, "Offer", `id = $1`, string(id))
}

func (t *tx) OfferByCode(ctx context.Context, code imgward.ProductCode) (*imgward.Offer, error) {
	return t.offerWhere(ctx, "OfferByCode", `product_code = $1`, string(code))
}

func (t *tx) UpdateOffer(ctx context.Context, o *imgward.Offer) error {
	return t.execOne(ctx, "UpdateOffer",
		`UPDATE offers SET title = $2, description = $3, price_micros = $4, currency = $5, per = $6,
			state = $7, updated_at = $8
		WHERE id = $1`,
		string(o.ID), o.Title, o.Description, o.Price.Micros, o.Price.Currency, string(o.Price.Per),
		string(o.State), micros(o.UpdatedAt))
}

func (t *tx) ListOffers(ctx context.Context, f imgward.OfferFilter) ([]imgward.Offer, error) {
	var q query
	if f.Owner != "" {
		q.and(`owner = ` + q.arg(string(f.Owner)))
	}
	if f.State != "" {
		q.and(`state = ` + q.arg(string(f.State)))
	}
	if f.Title != "" {
		// instr/strpos differ between the databases, and LIKE's case rules
		// too: a LIKE of lower-cased text, wildcards escaped, means the
		// same on both.
		q.and(`LOWER(title) LIKE ` + q.arg("%"+escapeLike(strings.ToLower(f.Title))+"%") + ` ESCAPE '!'`)
	}
	if f.After != "" {
		p := q.arg(string(f.After))
		q.and(`(created_at, id) > (SELECT created_at, id FROM offers WHERE id = ` + p + `)`)
	}
	sqlq := `SELECT ` + offerCols + ` FROM offers` + q.whereClause() + ` ORDER BY created_at, id`
	if f.Limit > 0 {
		sqlq += ` LIMIT ` + q.arg(f.Limit)
	}
	os := []imgward.Offer{}
	err := t.list(ctx, "ListOffers", sqlq, q.args, func(r *sql.Rows) error {
		var o imgward.Offer
		err := scanOffer(r, &o)
		os = append(os, o)
		return err
	})
	return os, err
}

func (t *tx) CreateSubscription(ctx context.Context, s *imgward.Subscription) error {
	return t.exec(ctx, "CreateSubscription",
		`INSERT INTO subscriptions (id, offer_id, project_id, user_id, terms, price_micros, currency, per,
			state, created_at, cancelled_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		string(s.ID), string(s.OfferID), string(s.ProjectID), string(s.UserID), s.Terms, s.Price.Micros,
		s.Price.Currency, string(s.Price.Per), string(s.State), micros(s.CreatedAt), nullMicros(s.CancelledAt))
}

const subCols = `id, offer_id, project_id, user_id, terms, price_micros, currency, per, state,
	created_at, cancelled_at`

func scanSub(r interface{ Scan(...any) error }, s *imgward.Subscription) error {
	return r.Scan(subDests(s)...)
}

// subDests lists where subCols scan to.
func subDests(s *imgward.Subscription) []any {
	return []any{&s.ID, &s.OfferID, &s.ProjectID, &s.UserID, &s.Terms, &s.Price.Micros, &s.Price.Currency,
		&s.Price.Per, &s.State, usec{&s.CreatedAt}, usec{&s.CancelledAt}}
}

func (t *tx) Subscription(ctx context.Context, id imgward.SubscriptionID) (*imgward.Subscription, error) {
	var s imgward.Subscription
	if err := scanSub(t.queryRow(ctx, `SELECT `+subCols+` FROM subscriptions WHERE id = $1`, string(id)), &s); err != nil {
		return nil, t.d.wrap("Subscription", err)
	}
	return &s, nil
}

func (t *tx) ActiveSubscription(ctx context.Context, offer imgward.OfferID, project imgward.ProjectID) (*imgward.Subscription, error) {
	var s imgward.Subscription
	row := t.queryRow(ctx, `SELECT `+subCols+` FROM subscriptions
		WHERE offer_id = $1 AND project_id = $2 AND state = 'active'`, string(offer), string(project))
	if err := scanSub(row, &s); err != nil {
		return nil, t.d.wrap("ActiveSubscription", err)
	}
	return &s, nil
}

// Entitlement joins the offer of a code to the project's active
// subscription: the product_code unique index, then the partial index
// subscriptions_active, in one statement. The subscription's columns are
// NULL when the project has none; its id tells.
func (t *tx) Entitlement(ctx context.Context, code imgward.ProductCode, project imgward.ProjectID) (*imgward.Offer, *imgward.Subscription, error) {
	var o imgward.Offer
	var s imgward.Subscription
	var sid, uid, terms, cur, per, state sql.NullString
	var price sql.NullInt64
	row := t.queryRow(ctx, `SELECT o.id, o.image_id, o.owner, o.product_code, o.title, o.description,
			o.price_micros, o.currency, o.per, o.state, o.created_at, o.updated_at,
			s.id, s.user_id, s.terms, s.price_micros, s.currency, s.per, s.state, s.created_at, s.cancelled_at
		FROM offers o LEFT JOIN subscriptions s
			ON s.offer_id = o.id AND s.project_id = $2 AND s.state = 'active'
		WHERE o.product_code = $1`, string(code), string(project))
	err := row.Scan(&o.ID, &o.ImageID, &o.Owner, &o.ProductCode, &o.Title, &o.Description, &o.Price.Micros,
		&o.Price.Currency, &o.Price.Per, &o.State, usec{&o.CreatedAt}, usec{&o.UpdatedAt},
		&sid, &uid, &terms, &price, &cur, &per, &state, usec{&s.CreatedAt}, usec{&s.CancelledAt})
	if err != nil {
		return nil, nil, t.d.wrap("Entitlement", err)
	}
	if !sid.Valid {
		return &o, nil, nil
	}
	s.ID, s.OfferID, s.ProjectID, s.UserID = imgward.SubscriptionID(sid.String), o.ID, project, imgward.UserID(uid.String)
	s.Terms, s.Price = terms.String, imgward.Price{Micros: price.Int64, Currency: cur.String, Per: imgward.PricePer(per.String)}
	s.State = imgward.SubscriptionState(state.String)
	return &o, &s, nil
}

func (t *tx) UpdateSubscription(ctx context.Context, s *imgward.Subscription) error {
	return t.execOne(ctx, "UpdateSubscription",
		`UPDATE subscriptions SET state = $2, cancelled_at = $3 WHERE id = $1`,
		string(s.ID), string(s.State), nullMicros(s.CancelledAt))
}

func (t *tx) ListSubscriptions(ctx context.Context, f imgward.SubscriptionFilter) ([]imgward.Subscription, error) {
	var q query
	if f.OfferID != "" {
		q.and(`offer_id = ` + q.arg(string(f.OfferID)))
	}
	if f.ProjectID != "" {
		q.and(`project_id = ` + q.arg(string(f.ProjectID)))
	}
	if f.Seller != "" {
		q.and(`offer_id IN (SELECT id FROM offers WHERE owner = ` + q.arg(string(f.Seller)) + `)`)
	}
	if f.State != "" {
		q.and(`state = ` + q.arg(string(f.State)))
	}
	ss := []imgward.Subscription{}
	err := t.list(ctx, "ListSubscriptions",
		`SELECT `+subCols+` FROM subscriptions`+q.whereClause()+` ORDER BY created_at, id`, q.args,
		func(r *sql.Rows) error {
			var s imgward.Subscription
			err := scanSub(r, &s)
			ss = append(ss, s)
			return err
		})
	return ss, err
}

func (t *tx) SetProductCode(ctx context.Context, img imgward.ImageID, code imgward.ProductCode) error {
	return t.exec(ctx, "SetProductCode",
		`INSERT INTO image_product_codes (image_id, product_code) VALUES ($1, $2)
		ON CONFLICT (image_id) DO UPDATE SET product_code = excluded.product_code`,
		string(img), string(code))
}

func (t *tx) ProductCode(ctx context.Context, img imgward.ImageID) (imgward.ProductCode, error) {
	var c imgward.ProductCode
	err := t.queryRow(ctx, `SELECT product_code FROM image_product_codes WHERE image_id = $1`, string(img)).Scan(&c)
	return c, t.d.wrap("ProductCode", err)
}

// CreateMeteredInstance copies the instance's times with the record; an
// absent instance inserts nothing and is NotExist.
func (t *tx) CreateMeteredInstance(ctx context.Context, m *imgward.MeteredInstance) error {
	// The instance's own row, written in the same transaction: no page
	// more than the launch's, but the partial indexes' (migration 0014).
	return t.execOne(ctx, "CreateMeteredInstance",
		`UPDATE instances SET subscription_id = $2, offer_id = $3 WHERE id = $1`,
		string(m.InstanceID), string(m.SubscriptionID), string(m.OfferID))
}

// Usage clips each instance's run to [from, to) in SQL, with CASE rather
// than MIN/LEAST (whose spelling differs), and sums per subscription over
// a partial covering index of the metered instances, so that a report
// over a million instances reads nothing else and moves one row per
// buyer. The IS NOT NULL terms let the planners pick the partial indexes.
func (t *tx) Usage(ctx context.Context, offer imgward.OfferID, buyer imgward.ProjectID, from, to time.Time) ([]imgward.UsageRow, error) {
	var q query
	f, e := q.arg(from.UnixMicro()), q.arg(to.UnixMicro())
	if offer != "" {
		q.and(`offer_id IS NOT NULL AND offer_id = ` + q.arg(string(offer)))
	}
	if buyer != "" {
		q.and(`subscription_id IS NOT NULL AND subscription_id IN (SELECT id FROM subscriptions WHERE project_id = ` + q.arg(string(buyer)) + `)`)
	}
	q.and(`created_at < ` + e)
	q.and(`(terminated_at IS NULL OR terminated_at > ` + f + `)`)
	end := `CASE WHEN terminated_at IS NULL OR terminated_at > ` + e + ` THEN ` + e + ` ELSE terminated_at END`
	start := `CASE WHEN created_at < ` + f + ` THEN ` + f + ` ELSE created_at END`
	sqlq := `SELECT s.id, s.project_id, u.n, u.t FROM (
			SELECT subscription_id, COUNT(*) AS n, CAST(SUM(` + end + ` - ` + start + `) AS BIGINT) AS t
			FROM instances` + q.whereClause() + ` GROUP BY subscription_id) u
		JOIN subscriptions s ON s.id = u.subscription_id ORDER BY s.id`
	rows := []imgward.UsageRow{}
	err := t.list(ctx, "Usage", sqlq, q.args, func(r *sql.Rows) error {
		var u imgward.UsageRow
		err := r.Scan(&u.SubscriptionID, &u.ProjectID, &u.Instances, &u.Micros)
		rows = append(rows, u)
		return err
	})
	return rows, err
}

// escapeLike escapes LIKE's wildcards with '!', so that text matches only
// itself.
func escapeLike(s string) string {
	return strings.NewReplacer("!", "!!", "%", "!%", "_", "!_").Replace(s)
}
