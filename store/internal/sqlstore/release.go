package sqlstore

import (
	"context"

	"imgward"
)

// releaseQuery reads a key release's records in one statement: one probe
// of a primary or unique key a table, joined from a row of nothing so that
// each record may be absent on its own. It reads the fields a release is
// decided on (imgward.ReleaseContext), no others: every column costs the
// single writer of SQLite its name, type and value on each release (the
// full records, 72 columns, took about as long as the identity document's
// signature check). A column of a record that is absent is NULL, read as
// its type's zero (COALESCE), except the key's time, which usec reads as
// zero itself, and the wrapped key, which scans NULL as nil; an empty id
// then marks the record absent (no stored id is empty).
//
// $1 is the instance, $2 the image. The membership, user and subscription
// are the instance's project's and user's; the members, product codes and
// keys of an absent image are gone with it (ON DELETE CASCADE). At most
// one row: every join is on a key, and a project has at most one active
// subscription to an offer (a unique index).
const releaseQuery = `SELECT
	COALESCE(i.id, ''), COALESCE(i.image_id, ''), COALESCE(i.project_id, ''), COALESCE(i.user_id, ''),
	COALESCE(i.state, ''),
	COALESCE(g.id, ''), COALESCE(g.owner, ''), COALESCE(g.visibility, ''), COALESCE(g.blob_key, ''),
	COALESCE(g.quarantined, FALSE), COALESCE(pc.product_code, ''),
	COALESCE(m.member_id, ''), COALESCE(m.status, ''),
	COALESCE(u.id, ''), COALESCE(u.role, ''),
	COALESCE(o.id, ''), COALESCE(o.owner, ''),
	COALESCE(s.id, ''),
	COALESCE(k.image_id, ''), COALESCE(k.owner, ''), COALESCE(k.mode, ''), COALESCE(k.key_id, ''),
	COALESCE(k.key_version, 0), k.wrapped, k.created_at, COALESCE(k.sealed_at, 0)
FROM (SELECT 1 AS one) r
	LEFT JOIN instances i ON i.id = $1
	LEFT JOIN images g ON g.id = $2
	LEFT JOIN image_product_codes pc ON pc.image_id = $2
	LEFT JOIN members m ON m.image_id = $2 AND m.member_id = i.project_id
	LEFT JOIN users u ON u.id = i.user_id
	LEFT JOIN offers o ON o.product_code = pc.product_code
	LEFT JOIN subscriptions s ON s.offer_id = o.id AND s.project_id = i.project_id AND s.state = 'active'
	LEFT JOIN image_keys k ON k.image_id = $2`

// ReleaseContext reads the records of a key release in one statement:
// see releaseQuery.
func (t *tx) ReleaseContext(ctx context.Context, instance imgward.InstanceID, image imgward.ImageID) (*imgward.ReleaseContext, error) {
	const op = "ReleaseContext"
	var (
		in      imgward.Instance
		img     imgward.Image
		m       imgward.Member
		u       imgward.User
		o       imgward.Offer
		s       imgward.Subscription
		k       imgward.ImageKey
		version int64
	)
	dests := [...]any{&in.ID, &in.ImageID, &in.ProjectID, &in.UserID, &in.State,
		&img.ID, &img.Owner, &img.Visibility, &img.Blob, &img.Quarantined, &img.ProductCode,
		&m.MemberID, &m.Status, &u.ID, &u.Role, &o.ID, &o.Owner, &s.ID,
		&k.ImageID, &k.Owner, &k.Mode, &k.Wrapped.KeyID, &version, &k.Wrapped.Ciphertext, usec{&k.CreatedAt}, &k.SealedAt}
	if err := t.queryRow(ctx, releaseQuery, string(instance), string(image)).Scan(dests[:]...); err != nil {
		return nil, t.d.wrap(op, err)
	}
	var rc imgward.ReleaseContext
	if in.ID != "" {
		rc.Instance = &in
	}
	if img.ID != "" {
		rc.Image = &img
	}
	if m.MemberID != "" {
		m.ImageID = image
		rc.Member = &m
	}
	if u.ID != "" {
		rc.User = &u
	}
	if o.ID != "" {
		o.ProductCode = img.ProductCode
		rc.Offer = &o
	}
	if s.ID != "" {
		s.OfferID, s.ProjectID, s.State = o.ID, in.ProjectID, imgward.SubscriptionActive
		rc.Subscription = &s
	}
	if k.ImageID != "" {
		k.Wrapped.Version = uint32(version)
		rc.Key = &k
	}
	return &rc, nil
}
