package sqlstore

import (
	"context"
	"database/sql"
	"slices"
	"strings"

	"imgward"
	"imgward/errors"
)

// maxSortKeys bounds a listing's order; Glance's attributes number fewer.
const maxSortKeys = 16

// order completes f.Sort as Glance does: created_at and then id are
// appended, descending, where missing, so that the order is total and a
// marker names one place in it. Every attribute is checked against
// imgward.SortAttrs, which also makes it safe to name in SQL.
func order(f imgward.ImageFilter) ([]imgward.SortKey, error) {
	if len(f.Sort) > maxSortKeys {
		return nil, errors.E(errors.Invalid, errors.Msg("too many sort keys"))
	}
	keys := slices.Clone(f.Sort)
	for _, k := range keys {
		if !slices.Contains(imgward.SortAttrs, k.Attr) {
			return nil, errors.E(errors.Invalid, errors.Msg("cannot sort by "+k.Attr))
		}
	}
	for _, a := range []string{"created_at", "id"} {
		if !slices.ContainsFunc(keys, func(k imgward.SortKey) bool { return k.Attr == a }) {
			keys = append(keys, imgward.SortKey{Attr: a, Desc: true})
		}
	}
	return keys, nil
}

// orderBy is the ORDER BY clause of keys.
func orderBy(keys []imgward.SortKey) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = "i." + k.Attr + map[bool]string{false: " ASC", true: " DESC"}[k.Desc]
	}
	return " ORDER BY " + strings.Join(parts, ", ")
}

// after adds the keyset condition that a row comes after the marker in the
// order of keys: for some i, the first i-1 keys equal the marker's and the
// i-th is past it. The marker's values are read by the statement itself; the
// marker must be an image the viewer may see: otherwise "marker not found", as for an
// absent one, so that a marker cannot probe for images the viewer may not
// know of.
func (t *tx) after(ctx context.Context, q *query, f imgward.ImageFilter, keys []imgward.SortKey) error {
	var mq query
	mq.and("i.id = " + mq.arg(string(f.Marker)))
	visible(&mq, f)
	var found int
	err := t.queryRow(ctx, `SELECT 1 FROM images i`+mq.whereClause(), mq.args...).Scan(&found)
	if errors.IsErr(err, sql.ErrNoRows) {
		return errors.E(errors.Invalid, errors.Msg("marker not found"))
	}
	if err != nil {
		return err
	}
	m := q.arg(string(f.Marker))
	val := func(attr string) string { return "(SELECT m." + attr + " FROM images m WHERE m.id = " + m + ")" }
	var ors []string
	for i, k := range keys {
		var ands []string
		for _, e := range keys[:i] {
			ands = append(ands, "i."+e.Attr+" = "+val(e.Attr))
		}
		cmp := " > "
		if k.Desc {
			cmp = " < "
		}
		ands = append(ands, "i."+k.Attr+cmp+val(k.Attr))
		ors = append(ors, "("+strings.Join(ands, " AND ")+")")
	}
	q.and("(" + strings.Join(ors, " OR ") + ")")
	return nil
}
