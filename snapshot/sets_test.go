package snapshot

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestClipSet(t *testing.T) {
	if got := ClipSet([]string{"b", "a", "b"}); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("sorted and deduplicated: %q", got)
	}
	if got := ClipSet(nil); got == nil || len(got) != 0 {
		t.Errorf("empty: %#v, want a non-nil empty set", got)
	}
	many := make([]string, MaxSetItems+10)
	for i := range many {
		many[i] = strings.Repeat("x", i+1)
	}
	if got := ClipSet(many); len(got) != MaxSetItems {
		t.Errorf("%d items, want %d", len(got), MaxSetItems)
	}
	// A 3-byte rune across the cut is dropped, not split.
	long := strings.Repeat("a", MaxItem-1) + "€"
	got := ClipSet([]string{long})
	if len(got[0]) != MaxItem-1 || !utf8.ValidString(got[0]) {
		t.Errorf("cut item of %d bytes, valid UTF-8 %v", len(got[0]), utf8.ValidString(got[0]))
	}
}
