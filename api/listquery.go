package api

import (
	"net/url"
	"slices"
	"strings"

	"imgward"
	"imgward/errors"
)

// maxTagFilters bounds the tag filters of one listing.
const maxTagFilters = 16

// sortKeys reads a listing's order as Glance does, in one of two forms that
// may not be mixed: sort_key and sort_dir, each repeatable (one sort_dir
// for all keys, or one per key), or sort=key[:dir],key[:dir]... Directions
// are asc or desc; a key without one is desc, Glance's default.
func sortKeys(q url.Values) ([]imgward.SortKey, error) {
	keys, dirs := q["sort_key"], q["sort_dir"]
	if s, ok := q["sort"]; ok {
		if len(keys) > 0 || len(dirs) > 0 {
			return nil, invalidQuery("sort cannot be combined with sort_key or sort_dir")
		}
		keys, dirs = nil, nil
		for _, part := range strings.Split(strings.Join(s, ","), ",") {
			k, d, _ := strings.Cut(strings.TrimSpace(part), ":")
			if d == "" {
				d = "desc"
			}
			keys, dirs = append(keys, k), append(dirs, d)
		}
	} else if len(dirs) > 1 && len(dirs) != len(keys) {
		return nil, invalidQuery("give one sort_dir, or one for each sort_key")
	}
	out := make([]imgward.SortKey, 0, len(keys))
	for i, k := range keys {
		if !slices.Contains(imgward.SortAttrs, k) {
			return nil, invalidQuery("cannot sort by " + strings.ToValidUTF8(k, "?") + "; sort keys are " + strings.Join(imgward.SortAttrs, ", "))
		}
		d := "desc"
		switch {
		case len(dirs) == 1:
			d = dirs[0]
		case i < len(dirs):
			d = dirs[i]
		}
		if d != "asc" && d != "desc" {
			return nil, invalidQuery("sort direction must be asc or desc")
		}
		out = append(out, imgward.SortKey{Attr: k, Desc: d == "desc"})
	}
	return out, nil
}

// tagFilters reads the repeatable tag filter: images with every tag.
func tagFilters(q url.Values) ([]string, error) {
	tags := q["tag"]
	if len(tags) > maxTagFilters {
		return nil, invalidQuery("at most 16 tag filters")
	}
	return tags, nil
}

func invalidQuery(msg string) error { return errors.E("api.list", errors.Invalid, errors.Msg(msg)) }
