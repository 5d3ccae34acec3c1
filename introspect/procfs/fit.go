package procfs

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"

	"imgward"
	"imgward/errors"
	"imgward/snapshot"
)

// A group's sets are held to the snapshot package's limits while they are
// collected, so that memory stays bounded whatever /proc says, and again
// when the snapshot is made, so that its line fits snapshot.MaxLine: the
// server refuses a longer line, and a collector whose every snapshot is
// refused leaves its instance unwatched. What is left out is counted, in
// the numeric feature meta.dropped.<set> (meta.: never scored), so that a
// truncated set is told from a small one.

// itemSet collects the distinct items of one set, at most
// snapshot.MaxSetItems of them, each cut to snapshot.MaxItem bytes.
type itemSet struct {
	items   map[string]bool
	dropped int // items left out, counted once each time one is added
}

func (s *itemSet) add(it string) {
	if len(it) > snapshot.MaxItem {
		it = strings.ToValidUTF8(it[:snapshot.MaxItem], "")
	}
	if s.items == nil {
		s.items = map[string]bool{}
	}
	switch {
	case s.items[it]:
	case len(s.items) == snapshot.MaxSetItems:
		s.dropped++
	default:
		s.items[it] = true
	}
}

// list returns the items, sorted.
func (s *itemSet) list() []string {
	out := make([]string, 0, len(s.items))
	for it := range s.items {
		out = append(out, it)
	}
	return snapshot.ClipSet(out)
}

// droppedName is the numeric feature that counts what set name lost.
func droppedName(set string) string { return imgward.MetaPrefix + "dropped." + set }

// fit cuts s's sets until s encodes to at most snapshot.MaxLine bytes,
// taking items from the end of the set with the most bytes first, and
// adds the items cut to the set's meta.dropped count. A snapshot that
// still does not fit, or that is invalid, is an error.
func fit(s *snapshot.Snapshot) error {
	for {
		n, err := lineLen(s)
		if err != nil {
			return err
		}
		over := n - snapshot.MaxLine
		if over <= 0 {
			_, err := snapshot.Marshal(s)
			return err
		}
		name, size := largestSet(s.Sets)
		items := s.Sets[name]
		if len(items) == 0 {
			return errors.E(errors.TooLarge, errors.Errorf("snapshot of %s is %d bytes with empty sets", s.InstanceID, n))
		}
		// Each item costs its bytes, two quotes and a comma, or more when
		// escaped: cutting by the mean cost overshoots a little at most.
		per := size/len(items) + 3
		cut := min(len(items), over/per+1)
		s.Sets[name] = slices.Clip(items[:len(items)-cut])
		s.Numeric[droppedName(name)] += float64(cut)
	}
}

// lineLen returns the length of s's line, which snapshot.Marshal does
// not tell when it is over the limit: s's line without its sets, and the
// sets encoded as the line encodes them (JSON, HTML not escaped).
func lineLen(s *snapshot.Snapshot) (int, error) {
	bare := *s
	bare.Sets = nil
	line, err := snapshot.Marshal(&bare) // "sets":{}
	if err != nil {
		return 0, err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s.Sets); err != nil {
		return 0, errors.E(errors.Internal, err)
	}
	return len(line) - len("{}") + b.Len() - len("\n"), nil
}

// largestSet returns the name of the set with the most item bytes, and
// those bytes; ties go to the first name in order, so that the result does
// not depend on map order.
func largestSet(sets map[string][]string) (string, int) {
	names := make([]string, 0, len(sets))
	for n := range sets {
		names = append(names, n)
	}
	slices.Sort(names)
	best, most := "", -1
	for _, n := range names {
		size := 0
		for _, it := range sets[n] {
			size += len(it)
		}
		if size > most {
			best, most = n, size
		}
	}
	return best, most
}
