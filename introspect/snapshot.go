// Package introspect is the wire format of introspection: Snapshot v1, one
// JSON object per line (NDJSON), as the sources (procfs, dataset replay,
// the simulator, outside tools) send it to POST /v1/snapshots, with the
// limits the server enforces, an Encoder that writes it and a Poster that
// sends it in batches. The sources live in the sub-packages.
//
// The limits here mirror the server's, so that a source finds a bad
// snapshot before the network does and a whole batch is not refused for
// one line. The server checks again: it trusts no client.
package introspect

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"time"

	"imgward/errors"
)

// Version is the snapshot format's version.
const Version = 1

// The sources of a snapshot.
const (
	SourceVMI     = "vmi"
	SourceProcfs  = "procfs"
	SourceIngest  = "ingest"
	SourceSim     = "sim"
	SourceDataset = "dataset"
)

// The limits of Snapshot v1, as the server enforces them.
const (
	MaxNameLen     = 64       // bytes of a feature name, [a-z0-9_.]
	MaxNumeric     = 256      // numeric features
	MaxSets        = 32       // set features
	MaxSetItems    = 1024     // items in one set
	MaxItemLen     = 256      // bytes of one item
	MaxSequence    = 65536    // system calls in a sequence
	MaxHistogram   = 4096     // distinct system calls in a histogram
	MaxSyscall     = 99999    // the largest system-call number: five decimal digits
	MaxLineBytes   = 64 << 10 // one encoded snapshot, newline excluded
	MaxBatchLines  = 10000    // snapshots in one POST
	MaxBatchBytes  = 16 << 20 // bytes in one POST
	maxInstanceLen = 2 + 16
)

// Snapshot is one instance's state at one time.
type Snapshot struct {
	Version    int                 `json:"version"`
	InstanceID string              `json:"instance_id"`
	TakenAt    time.Time           `json:"taken_at"` // encoded as RFC 3339 with nanoseconds
	Source     string              `json:"source"`
	Numeric    map[string]float64  `json:"numeric"`
	Sets       map[string][]string `json:"sets"`
	Syscalls   *Syscalls           `json:"syscalls,omitempty"`
}

// Syscalls is an instance's system calls: either the sequence as observed
// or a histogram of call number to count, never both.
type Syscalls struct {
	Sequence  []int32           `json:"sequence,omitempty"`
	Histogram map[string]uint64 `json:"histogram,omitempty"` // key: the call number in decimal
}

// Validate checks s against the limits of Snapshot v1 and returns an error
// of kind Invalid or TooLarge naming the first violation.
func (s *Snapshot) Validate() error {
	const op = "introspect.Validate"
	bad := func(k errors.Kind, format string, args ...any) error {
		return errors.E(op, k, errors.Msg(errors.Errorf(format, args...).Error()))
	}
	switch {
	case s.Version != Version:
		return bad(errors.Invalid, "version %d is not %d", s.Version, Version)
	case !ValidInstanceID(s.InstanceID):
		return bad(errors.Invalid, "instance_id %.80q is not i- and 16 lowercase hex digits", s.InstanceID)
	case s.TakenAt.IsZero():
		return bad(errors.Invalid, "taken_at is missing")
	}
	switch s.Source {
	case SourceVMI, SourceProcfs, SourceIngest, SourceSim, SourceDataset:
	default:
		return bad(errors.Invalid, "source %.40q is not vmi, procfs, ingest, sim or dataset", s.Source)
	}
	if len(s.Numeric) > MaxNumeric {
		return bad(errors.TooLarge, "%d numeric features, more than %d", len(s.Numeric), MaxNumeric)
	}
	for name, v := range s.Numeric {
		if !ValidName(name) {
			return bad(errors.Invalid, "numeric feature name %.80q is not 1-64 bytes of [a-z0-9_.]", name)
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return bad(errors.Invalid, "numeric feature %s is not finite", name)
		}
	}
	if len(s.Sets) > MaxSets {
		return bad(errors.TooLarge, "%d set features, more than %d", len(s.Sets), MaxSets)
	}
	if name := NumberAndSet(s.Numeric, s.Sets); name != "" {
		return bad(errors.Invalid, "%s is both a numeric feature and a set; a name is one or the other", name)
	}
	for name, items := range s.Sets {
		if !ValidName(name) {
			return bad(errors.Invalid, "set feature name %.80q is not 1-64 bytes of [a-z0-9_.]", name)
		}
		if len(items) > MaxSetItems {
			return bad(errors.TooLarge, "set %s has %d items, more than %d", name, len(items), MaxSetItems)
		}
		for _, it := range items {
			if len(it) > MaxItemLen {
				return bad(errors.TooLarge, "an item of set %s is longer than %d bytes", name, MaxItemLen)
			}
		}
	}
	return s.Syscalls.validate(bad)
}

func (c *Syscalls) validate(bad func(errors.Kind, string, ...any) error) error {
	if c == nil {
		return nil
	}
	switch {
	case len(c.Sequence) > 0 && len(c.Histogram) > 0:
		return bad(errors.Invalid, "syscalls has both a sequence and a histogram")
	case len(c.Sequence) == 0 && len(c.Histogram) == 0:
		return bad(errors.Invalid, "syscalls has neither a sequence nor a histogram")
	case len(c.Sequence) > MaxSequence:
		return bad(errors.TooLarge, "syscall sequence of %d calls, more than %d", len(c.Sequence), MaxSequence)
	case len(c.Histogram) > MaxHistogram:
		return bad(errors.TooLarge, "syscall histogram of %d calls, more than %d", len(c.Histogram), MaxHistogram)
	}
	for _, nr := range c.Sequence {
		if nr < 0 || nr > MaxSyscall {
			return bad(errors.Invalid, "syscall number %d is not in [0, %d]", nr, MaxSyscall)
		}
	}
	for k := range c.Histogram {
		if len(k) == 0 || len(k) > 5 || (len(k) > 1 && k[0] == '0') || !allDigits(k) {
			return bad(errors.Invalid, "syscall histogram key %.20q is not a call number", k)
		}
	}
	return nil
}

// ValidName reports whether name is a feature name: 1 to 64 bytes of
// [a-z0-9_.].
func ValidName(name string) bool {
	if len(name) == 0 || len(name) > MaxNameLen {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// NumberAndSet returns a name that is both a numeric feature and a set, the
// least such name when there are several, or "" when there is none. The
// unified state keeps one parameter per name, a number or a set, so such a
// snapshot could be stored but never folded (docs/SNAPSHOT.md).
func NumberAndSet(numeric map[string]float64, sets map[string][]string) string {
	both := ""
	for name := range sets {
		if _, ok := numeric[name]; ok && (both == "" || name < both) {
			both = name
		}
	}
	return both
}

// ValidInstanceID reports whether id is "i-" and 16 lowercase hex digits.
func ValidInstanceID(id string) bool {
	if len(id) != maxInstanceLen || id[:2] != "i-" {
		return false
	}
	for i := 2; i < len(id); i++ {
		if c := id[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// MarshalLine validates s and encodes it as one NDJSON line, newline
// included. Nil feature maps encode as empty objects, as the server expects.
func (s *Snapshot) MarshalLine() ([]byte, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	c := *s
	if c.Numeric == nil {
		c.Numeric = map[string]float64{}
	}
	if c.Sets == nil {
		c.Sets = map[string][]string{}
	}
	c.TakenAt = c.TakenAt.UTC()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&c); err != nil { // Encode appends the newline
		return nil, errors.E("introspect.MarshalLine", errors.Internal, err)
	}
	if b.Len()-1 > MaxLineBytes {
		return nil, errors.E("introspect.MarshalLine", errors.TooLarge,
			errors.Msg(errors.Errorf("snapshot of %s encodes to %d bytes, more than %d", s.InstanceID, b.Len()-1, MaxLineBytes).Error()))
	}
	return b.Bytes(), nil
}

// Encoder writes snapshots as NDJSON.
type Encoder struct {
	w io.Writer
	n int
}

// NewEncoder returns an Encoder that writes to w.
func NewEncoder(w io.Writer) *Encoder { return &Encoder{w: w} }

// Encode validates s and writes it as one line; an invalid snapshot writes
// nothing.
func (e *Encoder) Encode(s *Snapshot) error {
	line, err := s.MarshalLine()
	if err != nil {
		return err
	}
	_, err = e.w.Write(line)
	e.n++
	return err
}

// Count is the number of snapshots encoded so far.
func (e *Encoder) Count() int { return e.n }
