package sqlstore

import (
	"context"

	"imgward"
)

// releaseQuery reads a key release's records in one statement: one probe
// of a primary or unique key a table, joined from a row of nothing so that
// each record may be absent on its own. A column of a record that is absent
// is NULL, read as its type's zero (COALESCE), except the times, which usec
// reads as zero itself, and the wrapped key, which scans NULL as nil; an
// empty id then marks the record absent (no stored id is empty).
//
// $1 is the instance, $2 the image. The membership, user and subscription
// are the instance's project's and user's; the members, product codes and
// keys of an absent image are gone with it (ON DELETE CASCADE). At most
// one row: every join is on a key, and a project has at most one active
// subscription to an offer (a unique index).
const releaseQuery = `SELECT
	COALESCE(i.id, ''), COALESCE(i.image_id, ''), COALESCE(i.project_id, ''), COALESCE(i.user_id, ''),
	COALESCE(i.host, ''), COALESCE(i.state, ''), i.created_at, i.terminated_at,

	COALESCE(g.id, ''), COALESCE(g.name, ''), COALESCE(g.owner, ''), COALESCE(g.status, ''),
	COALESCE(g.visibility, ''), COALESCE(g.protected, FALSE), COALESCE(g.disk_format, ''),
	COALESCE(g.container_format, ''), COALESCE(g.min_disk, 0), COALESCE(g.min_ram, 0), COALESCE(g.size, 0),
	COALESCE(g.checksum, ''), COALESCE(g.os_hash_algo, ''), COALESCE(g.os_hash_value, ''),
	COALESCE(g.tags, ''), COALESCE(g.properties, ''), g.created_at, g.updated_at, COALESCE(g.blob_key, ''),
	COALESCE(g.quarantined, FALSE), COALESCE(pc.product_code, ''),

	COALESCE(m.image_id, ''), COALESCE(m.member_id, ''), COALESCE(m.status, ''), m.created_at, m.updated_at,

	COALESCE(u.id, ''), COALESCE(u.name, ''), COALESCE(u.project_id, ''), COALESCE(u.role, ''), u.created_at,
	COALESCE(u.hosts, ''), COALESCE(u.disabled, FALSE),

	COALESCE(o.id, ''), COALESCE(o.image_id, ''), COALESCE(o.owner, ''), COALESCE(o.product_code, ''),
	COALESCE(o.title, ''), COALESCE(o.description, ''), COALESCE(o.price_micros, 0), COALESCE(o.currency, ''),
	COALESCE(o.per, ''), COALESCE(o.state, ''), o.created_at, o.updated_at,

	COALESCE(s.id, ''), COALESCE(s.offer_id, ''), COALESCE(s.project_id, ''), COALESCE(s.user_id, ''),
	COALESCE(s.terms, ''), COALESCE(s.price_micros, 0), COALESCE(s.currency, ''), COALESCE(s.per, ''),
	COALESCE(s.state, ''), s.created_at, s.cancelled_at,

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
		img     imageScan
		m       imgward.Member
		u       imgward.User
		hosts   string
		o       imgward.Offer
		s       imgward.Subscription
		k       imgward.ImageKey
		version int64
	)
	dests := make([]any, 0, 72)
	dests = append(dests, instanceDests(&in)...)
	dests = append(dests, img.dests()...)
	dests = append(dests, memberDests(&m)...)
	dests = append(dests, userDests(&u, &hosts)...)
	dests = append(dests, offerDests(&o)...)
	dests = append(dests, subDests(&s)...)
	dests = append(dests, keyDests(&k, &version)...)
	if err := t.queryRow(ctx, releaseQuery, string(instance), string(image)).Scan(dests...); err != nil {
		return nil, t.d.wrap(op, err)
	}
	var rc imgward.ReleaseContext
	if in.ID != "" {
		rc.Instance = &in
	}
	if img.img.ID != "" {
		if err := img.finish(); err != nil {
			return nil, t.d.wrap(op, err)
		}
		rc.Image = &img.img
	}
	if m.MemberID != "" {
		rc.Member = &m
	}
	if u.ID != "" {
		setHosts(&u, hosts)
		rc.User = &u
	}
	if o.ID != "" {
		rc.Offer = &o
	}
	if s.ID != "" {
		rc.Subscription = &s
	}
	if k.ImageID != "" {
		k.Wrapped.Version = uint32(version)
		rc.Key = &k
	}
	return &rc, nil
}
