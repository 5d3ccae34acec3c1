package snapshot

import (
	"strconv"
	"time"

	"imgward"
	"imgward/errors"
)

// wire is the JSON form of a snapshot, as the decoder reads it.
type wire struct {
	Version    int                 `json:"version"`
	InstanceID string              `json:"instance_id"`
	TakenAt    string              `json:"taken_at"`
	Source     string              `json:"source"`
	Numeric    map[string]float64  `json:"numeric"`
	Sets       map[string][]string `json:"sets"`
	Syscalls   *wireSyscalls       `json:"syscalls,omitempty"`

	// names and values are numeric's entries in the order of the line.
	names  []string
	values []float64
}

type wireSyscalls struct {
	Sequence  []int            `json:"sequence,omitempty"`
	Histogram map[string]int64 `json:"histogram,omitempty"`
}

// Parse decodes and validates one line at time now. Every error is of kind
// Invalid with a client message naming the rule broken. Whether the instance
// exists and runs is the caller's to check, against the Store.
func Parse(line []byte, now time.Time) (*Snapshot, error) {
	bad := func(msg string) error { return errors.E("snapshot.Parse", errors.Invalid, errors.Msg(msg)) }
	if len(line) > MaxLine {
		return nil, bad("line is over 64 KiB")
	}
	var w wire
	if err := decodeWire(line, &w); err != nil {
		return nil, bad("malformed JSON: " + err.Error())
	}
	if w.Version != Version {
		return nil, bad("version must be 1")
	}
	if !ValidInstanceID(w.InstanceID) {
		return nil, bad(`instance_id must be "i-" and 16 lowercase hex digits`)
	}
	t, err := time.Parse(time.RFC3339Nano, w.TakenAt)
	if err != nil {
		return nil, bad("taken_at must be an RFC 3339 time")
	}
	if t.After(now.Add(MaxFuture)) {
		return nil, bad("taken_at is more than 5 minutes in the future")
	}
	if t.Before(now.Add(-MaxAge)) {
		return nil, bad("taken_at is more than 24 hours old")
	}
	s := &Snapshot{InstanceID: imgward.InstanceID(w.InstanceID), TakenAt: t.UTC(),
		Source: w.Source, Numeric: w.Numeric, Sets: w.Sets}
	if len(w.names) == len(w.Numeric) && w.Numeric != nil { // no name repeated
		s.row = row{names: w.names, values: w.values}
	}
	if w.Syscalls != nil {
		if s.Syscalls, err = syscalls(w.Syscalls); err != nil {
			return nil, bad(err.Error())
		}
	}
	if msg, _ := s.problem(); msg != "" {
		return nil, bad(msg)
	}
	return s, nil
}

// syscalls converts the wire's system calls, checking what the conversion
// would lose: a call number out of range or not in canonical decimal, a
// negative count. Validate checks the rest.
func syscalls(w *wireSyscalls) (*Syscalls, error) {
	switch {
	case w.Sequence != nil && w.Histogram != nil:
		return nil, errors.New("syscalls holds a sequence or a histogram, not both")
	case len(w.Sequence) > MaxSequence:
		return nil, errors.New("syscall sequence is longer than 65536")
	case len(w.Histogram) > MaxHistogram:
		return nil, errors.New("syscall histogram has more than 4096 entries")
	}
	c := &Syscalls{}
	if w.Sequence != nil {
		c.Sequence = make([]int32, len(w.Sequence))
		for i, nr := range w.Sequence {
			if nr < 0 || nr > MaxSyscall {
				return nil, errors.New("syscall numbers must be in [0, 99999]")
			}
			c.Sequence[i] = int32(nr)
		}
	}
	if w.Histogram != nil {
		c.Histogram = make(map[int32]uint64, len(w.Histogram))
		for k, n := range w.Histogram {
			nr, err := strconv.Atoi(k)
			if err != nil || nr < 0 || nr > MaxSyscall || strconv.Itoa(nr) != k {
				return nil, errors.New("syscall histogram keys must be numbers in [0, 99999]")
			}
			if n < 0 {
				return nil, errors.New("syscall counts must not be negative")
			}
			c.Histogram[int32(nr)] = uint64(n)
		}
	}
	return c, nil
}
