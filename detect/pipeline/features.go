package pipeline

import (
	"slices"
	"strconv"
	"sync"
	"unsafe"

	"imgward"
	"imgward/snapshot"
)

// columns resolves the feature names of a model to its columns, once per
// Scorer, so that featurising a snapshot reads each of its numbers once
// instead of looking every model feature up in the snapshot's map.
//
// Looking a name up in a map hashes its bytes; that was about a third of
// scoring a MalMem row through the pipeline. But a snapshot's names are
// nearly always the same strings from one snapshot to the next: the
// decoder interns them, and collectors and dataset replay reuse theirs. A
// nameCache therefore remembers the column of each name by the address of
// its bytes, a multiplication and a comparison away, and falls back to the
// maps for a name it has not met.
type columns struct {
	num   map[string]int32 // numeric feature → its column
	set   map[string]int32 // set feature → its index in Model.Sets
	vocab []map[string]bool
	// calls is the set syscalls's index, or -1, and callVocab its common
	// items that are call numbers as setsOf writes them, so that the set
	// of a snapshot's system calls is counted without writing it out.
	calls     int32
	callVocab map[int32]bool
	pool      sync.Pool // of *nameCache, learnt from earlier snapshots
}

// nameCol is what a name is in a model: a numeric column and a set's
// index, -1 when it is not one. A name may be both in a model built from
// snapshots that disagreed about it.
type nameCol struct{ num, set int32 }

// index builds the columns of m.
func (c *columns) index(m *Model) {
	c.num = make(map[string]int32, len(m.Numeric))
	for i, n := range m.Numeric {
		c.num[n] = int32(i)
	}
	c.set = make(map[string]int32, len(m.Sets))
	c.vocab = make([]map[string]bool, len(m.Sets))
	c.calls, c.callVocab = -1, map[int32]bool{}
	for i, n := range m.Sets {
		c.set[n] = int32(i)
		c.vocab[i] = make(map[string]bool, len(m.Vocab[n]))
		for _, it := range m.Vocab[n] {
			c.vocab[i][it] = true
		}
		if n == syscallSet {
			c.calls = int32(i)
			for _, it := range m.Vocab[n] {
				if nr, err := strconv.ParseInt(it, 10, 32); err == nil && strconv.Itoa(int(nr)) == it {
					c.callVocab[int32(nr)] = true
				}
			}
		}
	}
}

// resolve returns what name is in the model, by its bytes.
func (c *columns) resolve(name string) nameCol {
	nc := nameCol{num: -1, set: -1}
	if i, ok := c.num[name]; ok {
		nc.num = i
	}
	if i, ok := c.set[name]; ok && !imgward.IsMeta(name) { // as setsOf leaves metadata out
		nc.set = i
	}
	return nc
}

// cache returns a nameCache for one goroutine; put it back with release.
func (c *columns) cache() *nameCache {
	if nc, ok := c.pool.Get().(*nameCache); ok {
		return nc
	}
	return newNameCache(len(c.num) + len(c.set))
}

func (c *columns) release(nc *nameCache) { c.pool.Put(nc) }

// nameCache maps the address and length of a name's bytes to its nameCol,
// in an open-addressed table. Two strings with the same address and
// length hold the same bytes, since strings are immutable, and the cache
// keeps each name it holds alive, so that its address cannot be reused by
// another string. It learns at most max names; a source that sends fresh
// strings for every snapshot fills it, and then featurising goes by the
// model's names instead (full), as it did before the cache.
type nameCache struct {
	keys  []string
	cols  []nameCol
	shift uint // 64 - log2(len(keys))
	n     int
	max   int
	calls distinctCalls

	// layouts are the numeric columns of names slices that snapshots
	// share (snapshot.NumericRow): a table's rows replayed, or the lines
	// of a collector that the decoder gave one slice. Held here, a slice
	// cannot be freed and its address reused. seen is the last slice met
	// once, which becomes a layout when it is met again.
	layouts [maxLayouts]layout
	next    int
	seen    []string
}

// layout is the numeric column of each name of one shared names slice, -1
// for a name the model does not score.
type layout struct {
	names []string
	cols  []int32
}

// maxLayouts bounds the layouts a nameCache keeps; more replace the oldest.
const maxLayouts = 8

func newNameCache(names int) *nameCache {
	max := min(4*names+64, 4096)
	bits := uint(1)
	for 1<<bits < 2*max { // at most half full, so that misses end soon
		bits++
	}
	return &nameCache{keys: make([]string, 1<<bits), cols: make([]nameCol, 1<<bits), shift: 64 - bits, max: max}
}

// full reports whether the cache has stopped learning.
func (nc *nameCache) full() bool { return nc.n >= nc.max }

// lookup returns what name is in the model, learning it on a miss.
func (nc *nameCache) lookup(c *columns, name string) nameCol {
	p := unsafe.StringData(name)
	mask := uint64(len(nc.keys) - 1)
	h := uint64(uintptr(unsafe.Pointer(p))) * 0x9e3779b97f4a7c15 >> nc.shift
	for ; ; h = (h + 1) & mask {
		k := nc.keys[h]
		if len(k) == 0 {
			break
		}
		if unsafe.StringData(k) == p && len(k) == len(name) {
			return nc.cols[h]
		}
	}
	col := c.resolve(name)
	if len(name) > 0 && !nc.full() {
		nc.keys[h], nc.cols[h] = name, col
		nc.n++
	}
	return col
}

// layout returns the numeric column of each of names, when names is a
// slice that snapshots share, or nil. The same slice (its first element's
// address and its length) holds the same names, since a NumericRow's
// slices never change.
func (nc *nameCache) layout(c *columns, names []string) []int32 {
	if len(names) == 0 {
		return nil
	}
	same := func(a []string) bool { return len(a) == len(names) && unsafe.SliceData(a) == unsafe.SliceData(names) }
	for i := range nc.layouts {
		if l := &nc.layouts[i]; same(l.names) {
			return l.cols
		}
	}
	if !same(nc.seen) {
		nc.seen = names
		return nil
	}
	l := layout{names: names, cols: make([]int32, len(names))}
	for k, n := range names {
		l.cols[k] = c.resolve(n).num
	}
	nc.layouts[nc.next], nc.next, nc.seen = l, (nc.next+1)%maxLayouts, nil
	return l.cols
}

// vector writes the features of s into x, which holds the numeric and
// set columns, zeroed, and capacity for the sequence features, which it
// appends; see Vector.
func (sc *Scorer) vector(x []float64, s *snapshot.Snapshot, nc *nameCache) []float64 {
	m, c := sc.m, &sc.idx
	names, values, row := s.NumericRow()
	var cols []int32
	if row {
		cols = nc.layout(c, names)
	}
	switch {
	case cols != nil:
		cols = cols[:len(values)]
		for k, v := range values {
			if i := cols[k]; i >= 0 {
				x[i] = v
			}
		}
	case nc.full():
		for i, n := range m.Numeric {
			x[i] = s.Numeric[n]
		}
	case row:
		for k, n := range names {
			if i := nc.lookup(c, n).num; i >= 0 {
				x[i] = values[k]
			}
		}
	default:
		for n, v := range s.Numeric {
			if i := nc.lookup(c, n).num; i >= 0 {
				x[i] = v
			}
		}
	}
	// The sets, as setsOf gives them, without writing them out: the
	// snapshot's own but its metadata (which resolves to no set), then
	// the set of its system calls, which replaces a set of that name
	// that is nil, unless the model leaves it out (NoCallSet).
	base := len(m.Numeric)
	for n, items := range s.Sets {
		if i := nc.lookup(c, n).set; i >= 0 {
			items = dedup(items)
			novel := 0
			for _, it := range items {
				if !c.vocab[i][it] {
					novel++
				}
			}
			x[base+2*int(i)], x[base+2*int(i)+1] = float64(len(items)), float64(novel)
		}
	}
	if i := c.calls; i >= 0 && !m.NoCallSet && s.Syscalls != nil && s.Sets[syscallSet] == nil {
		if calls := nc.calls.of(s.Syscalls); len(calls) > 0 {
			novel := 0
			for _, nr := range calls {
				if !c.callVocab[nr] {
					novel++
				}
			}
			x[base+2*int(i)], x[base+2*int(i)+1] = float64(len(calls)), float64(novel)
		}
	}
	if sc.seq != nil {
		if t := sequenceOf(s); t != nil {
			x = sc.seq.Features(t, x)
		} else {
			x = append(x, sc.seqTyp...)
		}
	}
	return x
}

// width returns the number of numeric and set columns of a row.
func (sc *Scorer) width() int { return len(sc.m.Numeric) + 2*len(sc.m.Sets) }

// dedup returns items sorted and without repeats: items itself when it is
// so already, as the collectors send sets (snapshot.ClipSet), else a
// sorted copy.
func dedup(items []string) []string {
	strictly := true
	for i := 1; i < len(items) && strictly; i++ {
		strictly = items[i-1] < items[i]
	}
	if strictly {
		return items
	}
	s := slices.Clone(items)
	slices.Sort(s)
	return slices.Compact(s)
}

// distinctCalls finds the distinct call numbers of a snapshot's system
// calls, as setsOf lists them, in scratch space kept from one snapshot to
// the next: a bit per call number up to snapshot.MaxSyscall, which it
// clears after each snapshot, and a map for numbers beyond, which only a
// snapshot that was not validated has.
type distinctCalls struct {
	seen  []uint64
	calls []int32
}

// of returns the distinct calls of c's sequence and of its histogram's
// entries with a count, in no order, valid until the next call.
func (d *distinctCalls) of(c *snapshot.Syscalls) []int32 {
	if d.seen == nil {
		d.seen = make([]uint64, snapshot.MaxSyscall/64+1)
	}
	d.calls = d.calls[:0]
	var other map[int32]bool
	add := func(nr int32) {
		if nr < 0 || nr > snapshot.MaxSyscall {
			if other == nil {
				other = map[int32]bool{}
			}
			if !other[nr] {
				other[nr] = true
				d.calls = append(d.calls, nr)
			}
			return
		}
		if w, b := nr/64, uint64(1)<<(nr%64); d.seen[w]&b == 0 {
			d.seen[w] |= b
			d.calls = append(d.calls, nr)
		}
	}
	for _, nr := range c.Sequence {
		add(nr)
	}
	for nr, n := range c.Histogram {
		if n > 0 {
			add(nr)
		}
	}
	for _, nr := range d.calls {
		if nr >= 0 && nr <= snapshot.MaxSyscall {
			d.seen[nr/64] = 0
		}
	}
	return d.calls
}
