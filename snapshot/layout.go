package snapshot

import (
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"
)

// The lines of one collector give their numbers in one order, under the
// same interned names. The decoder therefore shares one slice of names
// among all the lines with that order (NumericRow), instead of allocating
// one a line; and a reader that meets the same slice again, as the scoring
// pipeline does, resolves its names once for all those lines.
//
// The table is keyed by the addresses of the names, so that finding a
// line's order costs a multiplication a name, and bounded: a source whose
// orders never repeat costs a slice a line, as before, and memory only up
// to the bound. Readers load it without a lock, as they do the names.
var layouts struct {
	mu sync.Mutex // serializes writers
	m  atomic.Pointer[map[uint64][]string]
}

const maxLayouts = 1024

func init() { layouts.m.Store(&map[uint64][]string{}) }

// shareLayout returns a slice holding the strings of scratch, the same
// ones: one that earlier lines share when their order was this one, else a
// copy, which later lines share when every name was interned (others have
// addresses of their own and could not be met again).
func shareLayout(scratch []string, interned bool) []string {
	k := layoutKey(scratch)
	if l, ok := (*layouts.m.Load())[k]; ok && sameStrings(l, scratch) {
		return l
	}
	l := slices.Clip(slices.Clone(scratch))
	if !interned {
		return l
	}
	layouts.mu.Lock()
	defer layouts.mu.Unlock()
	old := *layouts.m.Load()
	if _, ok := old[k]; !ok && len(old) < maxLayouts {
		m := make(map[uint64][]string, len(old)+1)
		for k, v := range old {
			m[k] = v
		}
		m[k] = l
		layouts.m.Store(&m)
	}
	return l
}

// layoutKey hashes the addresses and lengths of names.
func layoutKey(names []string) uint64 {
	h := uint64(len(names))
	for _, n := range names {
		h = (h ^ uint64(uintptr(unsafe.Pointer(unsafe.StringData(n))))) * 0x9e3779b97f4a7c15
		h = (h ^ uint64(len(n))) * 0xff51afd7ed558ccd
	}
	return h
}

// sameStrings reports whether a and b hold the same strings, by address.
func sameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if unsafe.StringData(a[i]) != unsafe.StringData(b[i]) || len(a[i]) != len(b[i]) {
			return false
		}
	}
	return true
}

// scratchNames holds the names of a line's numbers while it is decoded.
var scratchNames = sync.Pool{New: func() any { return new(make([]string, 0, MaxNumeric)) }}
