// Package ingest reads and writes snapshots in format v1 (docs/SNAPSHOT.md):
// one JSON object per line, validated against hard limits before anything
// is stored. It is the parser behind POST /v1/snapshots and the encoder the
// collectors, the simulator and dataset replay use, so that both sides of
// the API agree on one definition.
package ingest

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"imgward"
	"imgward/errors"
	"imgward/introspect"
)

// Version is the snapshot format this package reads and writes.
const Version = 1

// The hard limits of a snapshot and of a batch: those of package
// introspect, which collectors check before they send, and the server's
// own bounds of time and of idempotency keys.
const (
	MaxLine        = introspect.MaxLineBytes  // bytes of one line, without its newline
	MaxNumeric     = introspect.MaxNumeric    // numeric features
	MaxName        = introspect.MaxNameLen    // bytes of a feature or set name, of [a-z0-9_.]
	MaxSets        = introspect.MaxSets       // set features
	MaxSetItems    = introspect.MaxSetItems   // items of one set
	MaxItem        = introspect.MaxItemLen    // bytes of one item
	MaxSequence    = introspect.MaxSequence   // system calls of a sequence
	MaxHistogram   = introspect.MaxHistogram  // entries of a histogram
	MaxSyscall     = introspect.MaxSyscall    // the largest system-call number
	MaxBatchBytes  = introspect.MaxBatchBytes // bytes of one POST body
	MaxBatchLines  = introspect.MaxBatchLines // snapshots of one POST
	MaxFuture      = 5 * time.Minute
	MaxAge         = 24 * time.Hour
	MaxIdempotency = 128 // bytes of an Idempotency-Key
)

// The sources a snapshot may name.
var Sources = []string{"vmi", "procfs", "ingest", "sim", "dataset"}

// wire is the JSON form of a snapshot.
type wire struct {
	Version    int                 `json:"version"`
	InstanceID string              `json:"instance_id"`
	TakenAt    string              `json:"taken_at"`
	Source     string              `json:"source"`
	Numeric    map[string]float64  `json:"numeric"`
	Sets       map[string][]string `json:"sets"`
	Syscalls   *wireSyscalls       `json:"syscalls,omitempty"`
}

type wireSyscalls struct {
	Sequence  []int            `json:"sequence,omitempty"`
	Histogram map[string]int64 `json:"histogram,omitempty"`
}

// Marshal encodes s as one v1 line, without the newline. It does not
// validate: Parse does, on the server.
func Marshal(s *imgward.Snapshot) ([]byte, error) {
	w := wire{Version: Version, InstanceID: string(s.InstanceID),
		TakenAt: s.TakenAt.UTC().Format(time.RFC3339Nano), Source: s.Source,
		Numeric: s.Numeric, Sets: s.Sets}
	if w.Numeric == nil {
		w.Numeric = map[string]float64{}
	}
	if w.Sets == nil {
		w.Sets = map[string][]string{}
	}
	if c := s.Syscalls; c != nil {
		w.Syscalls = &wireSyscalls{Sequence: c.Sequence}
		if c.Histogram != nil {
			w.Syscalls.Histogram = make(map[string]int64, len(c.Histogram))
			for nr, n := range c.Histogram {
				w.Syscalls.Histogram[strconv.Itoa(nr)] = n
			}
		}
	}
	b, err := json.Marshal(w)
	if err != nil {
		return nil, errors.E("ingest.Marshal", errors.Invalid, err)
	}
	return b, nil
}

// Parse decodes and validates one line at time now. Every error is of kind
// Invalid with a client message naming the rule broken. Whether the instance
// exists and runs is the caller's to check, against the Store.
func Parse(line []byte, now time.Time) (*imgward.Snapshot, error) {
	bad := func(msg string) error { return errors.E("ingest.Parse", errors.Invalid, errors.Msg(msg)) }
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
	if !introspect.ValidInstanceID(w.InstanceID) {
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
	if !slices.Contains(Sources, w.Source) {
		return nil, bad("source must be one of vmi, procfs, ingest, sim, dataset")
	}
	s := &imgward.Snapshot{InstanceID: imgward.InstanceID(w.InstanceID), TakenAt: t.UTC(),
		Source: w.Source, Numeric: w.Numeric, Sets: w.Sets}
	if msg := checkFeatures(s); msg != "" {
		return nil, bad(msg)
	}
	if w.Syscalls != nil {
		if s.Syscalls, err = syscalls(w.Syscalls); err != nil {
			return nil, bad(err.Error())
		}
	}
	return s, nil
}

// checkFeatures returns what is wrong with s's features, or "".
func checkFeatures(s *imgward.Snapshot) string {
	if len(s.Numeric) > MaxNumeric {
		return "more than 256 numeric features"
	}
	for name, v := range s.Numeric {
		if !introspect.ValidName(name) {
			return "numeric feature name " + strconv.Quote(clip(name)) + " is not 1-64 bytes of [a-z0-9_.]"
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return "numeric feature " + name + " is not finite"
		}
	}
	if len(s.Sets) > MaxSets {
		return "more than 32 set features"
	}
	if name := introspect.NumberAndSet(s.Numeric, s.Sets); name != "" {
		return name + " is both a numeric feature and a set; a name is one or the other"
	}
	for name, items := range s.Sets {
		if !introspect.ValidName(name) {
			return "set name " + strconv.Quote(clip(name)) + " is not 1-64 bytes of [a-z0-9_.]"
		}
		if len(items) > MaxSetItems {
			return "set " + name + " has more than 1024 items"
		}
		for _, it := range items {
			if len(it) > MaxItem || !utf8.ValidString(it) {
				return "an item of set " + name + " is over 256 bytes or not UTF-8"
			}
		}
	}
	return ""
}

func syscalls(w *wireSyscalls) (*imgward.Syscalls, error) {
	switch {
	case w.Sequence != nil && w.Histogram != nil:
		return nil, errors.New("syscalls holds a sequence or a histogram, not both")
	case len(w.Sequence) > MaxSequence:
		return nil, errors.New("syscall sequence is longer than 65536")
	case len(w.Histogram) > MaxHistogram:
		return nil, errors.New("syscall histogram has more than 4096 entries")
	}
	for _, nr := range w.Sequence {
		if nr < 0 || nr > MaxSyscall {
			return nil, errors.New("syscall numbers must be in [0, 99999]")
		}
	}
	c := &imgward.Syscalls{Sequence: w.Sequence}
	if w.Histogram != nil {
		c.Histogram = make(map[int]int64, len(w.Histogram))
		for k, n := range w.Histogram {
			nr, err := strconv.Atoi(k)
			if err != nil || nr < 0 || nr > MaxSyscall || strconv.Itoa(nr) != k {
				return nil, errors.New("syscall histogram keys must be numbers in [0, 99999]")
			}
			if n < 0 {
				return nil, errors.New("syscall counts must not be negative")
			}
			c.Histogram[nr] = n
		}
	}
	return c, nil
}

// clip shortens a name for an error message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
