package sqlstore

import (
	"context"
	"strings"

	"imgward"
)

// imageUseQuery joins to the image the project's membership, the offer of
// the image's product code and the project's active subscription to it:
// one primary-key probe and three indexed ones, in one statement, where
// reading them one by one costs a launch a round trip each. The columns of
// a table that the joins find no row of read as zero values (coalesced),
// with a flag that says whether the row was there; so the scanners of the
// tables' own reads serve here too.
var imageUseQuery = `SELECT ` + prefixed("i", imageCols) + `, i.quarantined, COALESCE(pc.product_code, ''),
	m.member_id IS NOT NULL, ` + coalesced("m", memberCols) + `,
	o.id IS NOT NULL, ` + coalesced("o", offerCols) + `,
	s.id IS NOT NULL, ` + coalesced("s", subCols) + `
FROM images i
	LEFT JOIN members m ON m.image_id = i.id AND m.member_id = $2
	LEFT JOIN image_product_codes pc ON pc.image_id = i.id
	LEFT JOIN offers o ON o.product_code = pc.product_code
	LEFT JOIN subscriptions s ON s.offer_id = o.id AND s.project_id = $2 AND s.state = 'active'
WHERE i.id = $1`

// intCols are the integer columns among the ones coalesced: they read as
// 0, the others as ”.
var intCols = map[string]bool{"created_at": true, "updated_at": true, "price_micros": true, "cancelled_at": true}

// prefixed qualifies each column of a column list with alias.
func prefixed(alias, cols string) string {
	fs := strings.Split(cols, ",")
	for i, c := range fs {
		fs[i] = alias + "." + strings.TrimSpace(c)
	}
	return strings.Join(fs, ", ")
}

// coalesced is prefixed with each column read as its zero value when NULL.
func coalesced(alias, cols string) string {
	fs := strings.Split(prefixed(alias, cols), ", ")
	for i, c := range fs {
		zero := "''"
		if intCols[c[len(alias)+1:]] {
			zero = "0"
		}
		fs[i] = "COALESCE(" + c + ", " + zero + ")"
	}
	return strings.Join(fs, ", ")
}

func (t *tx) ImageUse(ctx context.Context, id imgward.ImageID, project imgward.ProjectID) (*imgward.ImageUse, error) {
	const op = "ImageUse"
	var (
		m                  imgward.Member
		o                  imgward.Offer
		s                  imgward.Subscription
		isMember, isO, isS bool
	)
	row := t.queryRow(ctx, imageUseQuery, string(id), string(project))
	// scanImage's columns, then the flags and the columns of the rest.
	img, err := scanImage(scanTail{row, func(vs ...any) []any {
		vs = append(append(vs, &isMember), memberDest(&m)...)
		vs = append(append(vs, &isO), offerDest(&o)...)
		return append(append(vs, &isS), subDest(&s)...)
	}})
	if err != nil {
		return nil, t.d.wrap(op, err)
	}
	u := &imgward.ImageUse{Image: &img}
	if isMember {
		u.Member = &m
	}
	if isO {
		u.Offer = &o
		if isS {
			u.Subscription = &s
		}
	}
	return u, nil
}

// scanTail scans a row whose first columns a scanner of another read
// knows: more appends the destinations of the columns after them.
type scanTail struct {
	r    interface{ Scan(...any) error }
	more func(...any) []any
}

func (s scanTail) Scan(vs ...any) error { return s.r.Scan(s.more(vs...)...) }
