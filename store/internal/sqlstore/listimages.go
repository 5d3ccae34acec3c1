package sqlstore

import (
	"context"

	"imgward"
	"imgward/errors"
)

// ListImages lists with Glance v2 semantics; see imgward.ImageFilter. The
// visibility rules are applied in SQL, so that an image the viewer may not
// see is never read, and pages are cut by keyset on the sort keys
// (sortimages.go), which stays correct when images are added or deleted
// between pages.
func (t *tx) ListImages(ctx context.Context, f imgward.ImageFilter) ([]imgward.Image, error) {
	const op = "ListImages"
	if err := checkFilter(f); err != nil {
		return nil, t.d.wrap(op, err)
	}
	var q query
	visible(&q, f)
	if f.Owner != "" {
		q.and("i.owner = " + q.arg(string(f.Owner)))
	}
	if f.Name != "" {
		q.and("i.name = " + q.arg(f.Name))
	}
	if f.Status != "" {
		q.and("i.status = " + q.arg(string(f.Status)))
	}
	for _, tag := range f.Tags {
		q.and(t.d.HasTag("i.tags", q.arg(tag)))
	}
	keys, err := order(f)
	if err != nil {
		return nil, t.d.wrap(op, err)
	}
	if f.Marker != "" {
		if err := t.after(ctx, &q, f, keys); err != nil {
			return nil, t.d.wrap(op, err)
		}
	}
	stmt := `SELECT ` + imageSelect + ` FROM images i` + q.whereClause() + orderBy(keys)
	if f.Limit > 0 {
		stmt += " LIMIT " + q.arg(f.Limit)
	}
	return t.images(ctx, op, stmt, q.args)
}

func checkFilter(f imgward.ImageFilter) error {
	switch {
	case f.Visibility != "" && !f.Visibility.Valid():
		return errors.E(errors.Invalid, errors.Msg("invalid visibility"))
	case f.MemberStatus != "" && f.MemberStatus != "all" && !imgward.MemberStatus(f.MemberStatus).Valid():
		return errors.E(errors.Invalid, errors.Msg("invalid member_status"))
	case f.Limit < 0:
		return errors.E(errors.Invalid, errors.Msg("invalid limit"))
	}
	return nil
}

// visible adds the condition that the viewer may list the image under the
// filter's Visibility and MemberStatus.
func visible(q *query, f imgward.ImageFilter) {
	vis := func(v imgward.Visibility) string { return "visibility = " + q.arg(string(v)) }
	if f.Admin {
		if f.Visibility != "" {
			q.and(vis(f.Visibility))
		}
		return
	}
	owned := func() string { return "owner = " + q.arg(string(f.Viewer)) }
	// A quarantined image (its publisher is flagged) is listed to its owner
	// and to admins only.
	q.and("(quarantined = " + q.arg(false) + " OR " + owned() + ")")
	switch f.Visibility {
	case "":
		// Glance's default: public, the viewer's own of any visibility, and
		// shared ones the viewer is a member of; community only on request.
		q.and("(" + owned() + " OR " + vis(imgward.Public) +
			" OR (" + vis(imgward.Shared) + " AND " + member(q, f) + "))")
	case imgward.Public, imgward.Community:
		q.and(vis(f.Visibility))
	case imgward.Private:
		q.and(vis(imgward.Private) + " AND " + owned())
	case imgward.Shared:
		q.and(vis(imgward.Shared) + " AND (" + owned() + " OR " + member(q, f) + ")")
	}
}

// member is the condition that the viewer is a member of image i with the
// filter's MemberStatus: "" means accepted, "all" any status.
func member(q *query, f imgward.ImageFilter) string {
	s := "EXISTS (SELECT 1 FROM members m WHERE m.image_id = i.id AND m.member_id = " + q.arg(string(f.Viewer))
	switch f.MemberStatus {
	case "all":
	case "":
		s += " AND m.status = " + q.arg(string(imgward.MemberAccepted))
	default:
		s += " AND m.status = " + q.arg(f.MemberStatus)
	}
	return s + ")"
}
