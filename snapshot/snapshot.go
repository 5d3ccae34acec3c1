// Package snapshot is the one definition of a snapshot, format v1
// (docs/SNAPSHOT.md): one observation of an instance's behaviour from a
// trusted, out-of-guest source, sent as one JSON object per line (NDJSON)
// to POST /v1/snapshots. The collectors (procfs, vmi, the simulator,
// dataset replay, outside tools) build a Snapshot and encode it with
// Marshal or an Encoder; the server reads it with Parse or ParseBatch, a
// decoder written for exactly this schema; both check it with Validate,
// against one set of limits, so that a source finds a bad snapshot before
// the network does and the server, trusting no client, checks again.
package snapshot

import (
	"bytes"
	"encoding/json"
	"io"
	"strconv"
	"time"

	"imgward"
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

// Sources lists the sources a snapshot may name.
var Sources = []string{SourceVMI, SourceProcfs, SourceIngest, SourceSim, SourceDataset}

// The limits of a snapshot and of a batch, the same for collectors and
// server, and the server's own bounds of time and of idempotency keys.
const (
	MaxName        = 64       // bytes of a feature or set name, of [a-z0-9_.]
	MaxNumeric     = 256      // numeric features
	MaxSets        = 32       // set features
	MaxSetItems    = 1024     // items of one set
	MaxItem        = 256      // bytes of one item
	MaxSequence    = 65536    // system calls of a sequence
	MaxHistogram   = 4096     // entries of a histogram
	MaxSyscall     = 99999    // the largest system-call number: five decimal digits
	MaxLine        = 64 << 10 // bytes of one line, without its newline
	MaxBatchLines  = 10000    // snapshots of one POST
	MaxBatchBytes  = 16 << 20 // bytes of one POST body
	MaxFuture      = 5 * time.Minute
	MaxAge         = 24 * time.Hour
	MaxIdempotency = 128 // bytes of an Idempotency-Key
)

// Snapshot is one instance's state at one time.
type Snapshot struct {
	InstanceID imgward.InstanceID
	TakenAt    time.Time
	Source     string              // one of Sources
	Numeric    map[string]float64  // finite values only
	Sets       map[string][]string // such as the names of the running processes
	// Syscalls is an optional system-call sequence or histogram.
	Syscalls *Syscalls

	// row is Numeric as parallel names and values, in the order the
	// snapshot gave them, when the decoder or SetNumeric built Numeric.
	row row
}

// row is a snapshot's numbers in one order: names[k] is values[k].
type row struct {
	names  []string
	values []float64
}

// SetNumeric sets Numeric to the map of names[k] to values[k] and keeps
// the two slices as NumericRow's view of it, which the scoring pipeline and
// the unified state read without iterating the map. A repeated name keeps
// its last value in Numeric and drops the view. names may be shared by many
// snapshots (a table's columns, say): readers then resolve it once for all
// of them. Neither slice may change afterwards.
func (s *Snapshot) SetNumeric(names []string, values []float64) {
	values = values[:len(names)]
	s.Numeric = make(map[string]float64, len(names))
	for k, n := range names {
		s.Numeric[n] = values[k]
	}
	s.row = row{}
	if len(s.Numeric) == len(names) {
		s.row = row{names: names, values: values}
	}
}

// NumericRow returns Numeric as parallel names and values, each name
// once, when the snapshot came from the decoder or SetNumeric; ok is false
// for a snapshot whose Numeric was built otherwise, or changed size since.
// Reading the slices costs a tenth of iterating the map, which dominated
// featurising. A change of a value in place that leaves the size is not
// seen: a snapshot's Numeric is changed only through SetNumeric once it
// has been decoded. The slices are the snapshot's; they must not be
// changed.
func (s *Snapshot) NumericRow() (names []string, values []float64, ok bool) {
	if s.row.names == nil || len(s.row.names) != len(s.Numeric) {
		return nil, nil, false
	}
	return s.row.names, s.row.values, true
}

// Syscalls is an instance's system calls: either the sequence as observed
// or a histogram of call number to count, never both.
type Syscalls struct {
	Sequence  []int32
	Histogram map[int32]uint64
}

// Marshal validates s and encodes it as one v1 line, without the newline.
// Nil feature maps encode as empty objects, as the server expects.
func Marshal(s *Snapshot) ([]byte, error) {
	const op = "snapshot.Marshal"
	if err := s.Validate(); err != nil {
		return nil, err
	}
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
		w.Syscalls = &wireSyscalls{}
		if c.Sequence != nil {
			w.Syscalls.Sequence = make([]int, len(c.Sequence))
			for i, nr := range c.Sequence {
				w.Syscalls.Sequence[i] = int(nr)
			}
		}
		if c.Histogram != nil {
			w.Syscalls.Histogram = make(map[string]int64, len(c.Histogram))
			for nr, n := range c.Histogram {
				w.Syscalls.Histogram[strconv.Itoa(int(nr))] = int64(n) // Validate bounds n
			}
		}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&w); err != nil {
		return nil, errors.E(op, errors.Internal, err)
	}
	line := bytes.TrimSuffix(b.Bytes(), []byte("\n"))
	if len(line) > MaxLine {
		return nil, errors.E(op, errors.TooLarge,
			errors.Msg(errors.Errorf("snapshot of %s encodes to %d bytes, more than %d", s.InstanceID, len(line), MaxLine).Error()))
	}
	return line, nil
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
	line, err := Marshal(s)
	if err != nil {
		return err
	}
	if _, err = e.w.Write(append(line, '\n')); err == nil {
		e.n++
	}
	return err
}

// Count is the number of snapshots encoded so far.
func (e *Encoder) Count() int { return e.n }
