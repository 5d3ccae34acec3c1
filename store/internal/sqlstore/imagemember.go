package sqlstore

import (
	"context"
	"database/sql"
	"strings"

	"imgward"
)

// imageMemberQuery is Image's read with the project's membership joined:
// two primary-key probes in one statement, where reading them one by one
// costs a launch of a shared image a round trip more. The member's columns
// read as zero values (coalesced) when the project is none, with a flag
// that says whether it is; so the image's and the member's scanners serve here too. The
// joins compare with the parameter, not with i.id: members.image_id has
// the database's collation and images.id "C", and an equality across
// collations cannot use the members' primary key.
//
// Not joined: the offer of the image's product code and the project's
// subscription to it (Entitlement). Two more relations in the statement
// cost PostgreSQL about 15 µs of processor time on every launch (executor
// start-up; pgbench, docs/BENCHMARKS.md), more than the round trip they
// would save the few launches of images with a product code.
var imageMemberQuery = `SELECT ` + imageMemberCols("$1") + `
FROM images i LEFT JOIN members m ON m.image_id = $1 AND m.member_id = $2
WHERE i.id = $1`

// imageMemberCols is the columns that ImageMember and TokenImageMember
// read of the image i, whose id is the parameter id, with its product code,
// and of its membership m; imageMemberScan scans them.
func imageMemberCols(id string) string {
	return prefixed("i", imageCols) + `, i.quarantined,
	COALESCE((SELECT pc.product_code FROM image_product_codes pc WHERE pc.image_id = ` + id + `), ''),
	m.member_id IS NOT NULL, COALESCE(m.image_id, ''), COALESCE(m.member_id, ''), COALESCE(m.status, ''),
	COALESCE(m.created_at, 0), COALESCE(m.updated_at, 0)`
}

// imageMemberScan scans imageMemberCols.
type imageMemberScan struct {
	img      imageScan
	m        imgward.Member
	isMember bool
}

func (s *imageMemberScan) dests() []any {
	return append(append(s.img.dests(), &s.isMember), memberDests(&s.m)...)
}

// finish returns the image and the membership, nil if there is none.
func (s *imageMemberScan) finish() (*imgward.Image, *imgward.Member, error) {
	if err := s.img.finish(); err != nil {
		return nil, nil, err
	}
	if !s.isMember {
		return &s.img.img, nil, nil
	}
	return &s.img.img, &s.m, nil
}

// prefixed qualifies each column of a column list with alias.
func prefixed(alias, cols string) string {
	fs := strings.Split(cols, ",")
	for i, c := range fs {
		fs[i] = alias + "." + strings.TrimSpace(c)
	}
	return strings.Join(fs, ", ")
}

func (t *tx) ImageMember(ctx context.Context, id imgward.ImageID, project imgward.ProjectID) (*imgward.Image, *imgward.Member, error) {
	const op = "ImageMember"
	var im imageMemberScan
	if err := t.queryRow(ctx, imageMemberQuery, string(id), string(project)).Scan(im.dests()...); err != nil {
		return nil, nil, t.d.wrap(op, err)
	}
	img, m, err := im.finish()
	if err != nil {
		return nil, nil, t.d.wrap(op, err)
	}
	return img, m, nil
}

// tokenImageMemberQuery is UserByTokenHash's read and imageMemberQuery's
// in one statement, the membership that of the token's user's project:
// three primary-key probes and a fourth for the product code, where a
// launch otherwise reads the token in a round trip of its own. An inner
// join with the image: a row only when both the token and the image
// exist, the only case a launch goes on with.
var tokenImageMemberQuery = `SELECT ` + userCols + `, k.id, k.hash, k.created_at, k.expires_at, k.revoked_at,
	` + imageMemberCols("$2") + `
FROM tokens k JOIN users u ON u.id = k.user_id
	JOIN images i ON i.id = $2
	LEFT JOIN members m ON m.image_id = $2 AND m.member_id = u.project_id
WHERE k.hash = $1`

func (t *tx) TokenImageMember(ctx context.Context, h []byte, id imgward.ImageID) (*imgward.User, *imgward.Token, *imgward.Image, *imgward.Member, error) {
	const op = "TokenImageMember"
	if len(h) == 0 {
		return nil, nil, nil, nil, t.d.wrap(op, sql.ErrNoRows)
	}
	var u imgward.User
	var k imgward.Token
	var im imageMemberScan
	more := append([]any{&k.ID, &k.Hash, usec{&k.CreatedAt}, usec{&k.ExpiresAt}, usec{&k.RevokedAt}}, im.dests()...)
	if err := scanUser(t.queryRow(ctx, tokenImageMemberQuery, h, string(id)), &u, more...); err != nil {
		return nil, nil, nil, nil, t.d.wrap(op, err)
	}
	img, m, err := im.finish()
	if err != nil {
		return nil, nil, nil, nil, t.d.wrap(op, err)
	}
	k.UserID = u.ID
	u.TokenHash = k.Hash
	return &u, &k, img, m, nil
}
