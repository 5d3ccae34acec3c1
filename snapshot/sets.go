package snapshot

import (
	"slices"
	"strings"
)

// ClipSet sorts and deduplicates items and cuts them to the limits of a
// snapshot's set: MaxSetItems items of at most MaxItem bytes, each still
// valid UTF-8, so that a source with more to say loses detail rather than
// its whole snapshot. It may reorder items in place; the result is never
// nil, as an empty set must encode as [].
func ClipSet(items []string) []string {
	slices.Sort(items)
	items = slices.Compact(items)
	out := make([]string, 0, min(len(items), MaxSetItems))
	for _, it := range items {
		if len(out) == MaxSetItems {
			break
		}
		if len(it) > MaxItem {
			it = strings.ToValidUTF8(it[:MaxItem], "")
		}
		out = append(out, it)
	}
	return out
}
