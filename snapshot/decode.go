package snapshot

import (
	"maps"
	"strconv"
	"sync"
	"sync/atomic"

	"imgward/errors"
)

// decoder reads one snapshot object. It is a JSON parser for exactly the
// v1 schema, five times faster than encoding/json with reflection and maps,
// which made decoding the larger part of ingest's cost. It accepts what
// encoding/json accepts into the wire struct (unknown fields rejected, null
// for an absent value, the last of duplicate keys), except that it rejects
// invalid UTF-8 where encoding/json would substitute U+FFFD, and matches
// keys exactly where encoding/json ignores case; FuzzDecode checks the two
// agree otherwise.
type decoder struct {
	b   []byte
	i   int
	buf []byte // scratch for unescaping
}

var errSyntax = errors.New("invalid JSON")

func decodeWire(b []byte, w *wire) error {
	d := &decoder{b: b}
	// A null line leaves w empty, as encoding/json does; Parse then
	// refuses it for its version.
	if !d.null() {
		if err := d.object(func(key []byte) error { return d.top(key, w) }); err != nil {
			return err
		}
	}
	d.ws()
	if d.i != len(d.b) {
		return errors.New("trailing data")
	}
	return nil
}

func (d *decoder) top(key []byte, w *wire) error {
	var err error
	switch string(key) {
	case "version":
		var v int64
		var ok bool
		if v, ok, err = d.int(); ok {
			w.Version = int(v)
		}
	case "instance_id":
		err = d.optString(&w.InstanceID)
	case "taken_at":
		err = d.optString(&w.TakenAt)
	case "source":
		err = d.optString(&w.Source)
	case "numeric":
		err = d.numeric(w)
	case "sets":
		err = d.sets(w)
	case "syscalls":
		err = d.syscalls(w)
	default:
		return errors.New("unknown field " + strconv.Quote(string(key)))
	}
	return err
}

func (d *decoder) numeric(w *wire) error {
	if d.null() {
		return nil
	}
	if w.Numeric == nil {
		// A map holds 7/8 of its slots: 28 features fill 32 slots, where a
		// hint of 32 took 64. The collectors send 8 to 24; more grow it.
		w.Numeric = make(map[string]float64, 28)
		w.values = make([]float64, 0, 28)
	}
	scratch := scratchNames.Get().(*[]string)
	defer scratchNames.Put(scratch)
	names, interned := append((*scratch)[:0], w.names...), true
	err := d.object(func(b []byte) error {
		key, ok := internOK(b)
		f, err := 0.0, error(nil) // null stores 0, as encoding/json does in a map
		if !d.null() {
			f, err = d.float()
		}
		w.Numeric[key] = f
		names, w.values, interned = append(names, key), append(w.values, f), interned && ok
		return err
	})
	if w.names = nil; err == nil {
		w.names = shareLayout(names, interned)
	}
	*scratch = names[:0]
	clear(names) // the pool keeps no name alive
	return err
}

func (d *decoder) sets(w *wire) error {
	if d.null() {
		return nil
	}
	if w.Sets == nil {
		w.Sets = make(map[string][]string, 8)
	}
	return d.object(func(b []byte) error {
		key := intern(b)
		if d.null() {
			w.Sets[key] = nil
			return nil
		}
		items := []string{}
		err := d.array(func() error {
			var s string
			err := d.optString(&s)
			items = append(items, s)
			return err
		})
		w.Sets[key] = items
		return err
	})
}

func (d *decoder) syscalls(w *wire) error {
	if d.null() {
		return nil
	}
	if w.Syscalls == nil {
		w.Syscalls = &wireSyscalls{}
	}
	c := w.Syscalls
	return d.object(func(key []byte) error {
		switch string(key) {
		case "sequence":
			if d.null() {
				c.Sequence = nil
				return nil
			}
			c.Sequence = []int{}
			return d.array(func() error {
				v, _, err := d.int()
				c.Sequence = append(c.Sequence, int(v))
				return err
			})
		case "histogram":
			if d.null() {
				return nil
			}
			if c.Histogram == nil {
				c.Histogram = map[string]int64{}
			}
			return d.object(func(k []byte) error {
				key := string(k)
				v, _, err := d.int()
				c.Histogram[key] = v
				return err
			})
		}
		return errors.New("unknown field " + strconv.Quote(string(key)))
	})
}

// The names of features repeat across snapshots; interning them saves an
// allocation per feature per snapshot. The table is bounded, so that a
// collector sending ever new names costs memory only up to it.
//
// Readers load the table without a lock: the lines of a batch are parsed
// on every core, and the shared reader count of a sync.RWMutex, taken once
// per feature, cost as much as the lookup. A writer publishes a copy, which
// the bound limits to maxInterned²/2 entries copied in a process's life.
var names struct {
	mu sync.Mutex // serializes writers
	m  atomic.Pointer[map[string]string]
}

const maxInterned = 4096

func init() { names.m.Store(&map[string]string{}) }

func intern(b []byte) string {
	s, _ := internOK(b)
	return s
}

// internOK is intern that also reports whether the name is in the table,
// where later lines find the same string.
func internOK(b []byte) (string, bool) {
	if s, ok := (*names.m.Load())[string(b)]; ok {
		return s, true
	}
	s := string(b)
	if !ValidName(s) {
		return s, false
	}
	names.mu.Lock()
	defer names.mu.Unlock()
	old := *names.m.Load()
	if _, ok := old[s]; !ok && len(old) < maxInterned {
		m := make(map[string]string, len(old)+1)
		maps.Copy(m, old)
		m[s] = s
		names.m.Store(&m)
		return s, true
	}
	return s, false
}
