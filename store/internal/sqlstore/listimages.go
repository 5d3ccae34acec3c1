package sqlstore

import (
	"context"
	"database/sql"

	"imgward"
	"imgward/errors"
)

// ListImages lists with Glance v2 semantics; see imgward.ImageFilter. The
// visibility rules are applied in SQL, so that an image the viewer may not
// see is never read, and pages are cut by keyset on (created_at, id), which
// stays correct when images are added or deleted between pages.
func (t *tx) ListImages(ctx context.Context, f imgward.ImageFilter) ([]imgward.Image, error) {
	const op = "ListImages"
	if err := checkFilter(f); err != nil {
		return nil, t.d.wrap(op, err)
	}
	var q query
	visible(&q, f)
	if f.Owner != "" {
		q.and("owner = " + q.arg(string(f.Owner)))
	}
	if f.Name != "" {
		q.and("name = " + q.arg(f.Name))
	}
	if f.Status != "" {
		q.and("status = " + q.arg(string(f.Status)))
	}
	if f.Marker != "" {
		created, err := t.markerTime(ctx, f)
		if err != nil {
			return nil, t.d.wrap(op, err)
		}
		c := q.arg(created)
		q.and("(created_at < " + c + " OR (created_at = " + c + " AND id < " + q.arg(string(f.Marker)) + "))")
	}
	stmt := `SELECT ` + imageSelect + ` FROM images i` + q.whereClause() + ` ORDER BY created_at DESC, id DESC`
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

// markerTime returns the creation time of the marker image. The marker must
// be an image the viewer may see: otherwise "marker not found", as for an
// absent one, so that a marker cannot probe for images the viewer may not
// know of.
func (t *tx) markerTime(ctx context.Context, f imgward.ImageFilter) (int64, error) {
	var q query
	q.and("id = " + q.arg(string(f.Marker)))
	visible(&q, f)
	var created int64
	err := t.queryRow(ctx, `SELECT created_at FROM images i`+q.whereClause(), q.args...).Scan(&created)
	if errors.IsErr(err, sql.ErrNoRows) {
		return 0, errors.E(errors.Invalid, errors.Msg("marker not found"))
	}
	return created, err
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
