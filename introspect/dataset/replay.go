package dataset

import (
	"fmt"
	"imgward"
	"strings"
	"time"

	"imgward/detect/trace"
	"imgward/errors"
	"imgward/snapshot"
)

// Replay turns the rows of a table into snapshots (source "dataset"), as
// if each row had been introspected from an instance:
//
//   - each numeric column becomes a numeric feature, its name lowercased
//     and every byte outside [a-z0-9_.] made '_' (MalMem's
//     "malfind.commitCharge" becomes "malfind.commitcharge");
//   - a trace column (SequenceCol) becomes the snapshot's syscall sequence
//     (its first snapshot.MaxSequence calls) and the numeric features
//     "syscall.count" (the whole trace's length) and "ngram.h00".."ngram.hNN":
//     counts of the trace's N-grams hashed into Buckets buckets, so that a
//     detector sees the trace's local order without a learned vocabulary;
//   - the label column, if named, becomes the set "dataset.label", so that
//     whoever reads the snapshots can score them; it is never a feature.
type Replay struct {
	LabelCol    string
	SequenceCol string
	// Instances are dealt the rows in turn; empty means one instance per
	// row, i-0000000000000001 for the first.
	Instances []string
	Start     time.Time     // taken_at of the first row; zero means now
	Step      time.Duration // between consecutive rows; 0 means 1 ms
	N         int           // n-gram length; 0 means 3
	Buckets   int           // hashed n-gram buckets, at most 100; 0 means 64
}

// Snapshots returns the rows of t as snapshots, in row order.
func (r *Replay) Snapshots(t *Table) ([]snapshot.Snapshot, error) {
	const op = "dataset.Replay"
	n, buckets, step := r.N, r.Buckets, r.Step
	if n <= 0 {
		n = 3
	}
	if buckets <= 0 {
		buckets = 64
	}
	if step <= 0 {
		step = time.Millisecond
	}
	start := r.Start
	if start.IsZero() {
		start = time.Now()
	}
	if buckets > 100 || n > 32 {
		return nil, errors.E(op, errors.Invalid, errors.Msg("at most 100 buckets and 32-grams"))
	}
	cols := t.NumericColumns(r.LabelCol, r.SequenceCol)
	names, err := featureNames(cols)
	if err != nil {
		return nil, errors.E(op, err)
	}
	if len(names)+buckets+1 > snapshot.MaxNumeric {
		return nil, errors.E(op, errors.TooLarge, errors.Errorf("%d numeric columns, more than a snapshot holds", len(names)))
	}
	X, err := t.Matrix(nil, cols)
	if err != nil {
		return nil, errors.E(op, err)
	}
	var seqs [][]int32
	if r.SequenceCol != "" {
		if seqs, err = t.Sequences(nil, r.SequenceCol); err != nil {
			return nil, errors.E(op, err)
		}
	}
	var labels []string
	if r.LabelCol != "" {
		if labels, err = t.Strings(nil, r.LabelCol); err != nil {
			return nil, errors.E(op, err)
		}
	}
	out := make([]snapshot.Snapshot, len(t.Rows))
	for i := range out {
		s := &out[i]
		*s = snapshot.Snapshot{
			InstanceID: imgward.InstanceID(r.instance(i)), Source: snapshot.SourceDataset,
			TakenAt: start.Add(time.Duration(i) * step).UTC(),
			Numeric: make(map[string]float64, len(names)+buckets+1),
			Sets:    map[string][]string{},
		}
		for k, name := range names {
			s.Numeric[name] = X[i][k]
		}
		if seqs != nil {
			seq := seqs[i]
			s.Numeric["syscall.count"] = float64(len(seq))
			for b, c := range trace.HashedNgrams(seq, n, buckets) {
				s.Numeric[fmt.Sprintf("ngram.h%02d", b)] = c
			}
			s.Syscalls = &snapshot.Syscalls{Sequence: seq[:min(len(seq), snapshot.MaxSequence)]}
		}
		if labels != nil {
			s.Sets["dataset.label"] = []string{labels[i][:min(len(labels[i]), snapshot.MaxItem)]}
		}
		if err := s.Validate(); err != nil {
			return nil, errors.E(op, errors.Errorf("line %d: %w", i+2, cause(err)), errors.KindOf(err))
		}
	}
	return out, nil
}

func (r *Replay) instance(i int) string {
	if len(r.Instances) == 0 {
		return fmt.Sprintf("i-%016x", i+1)
	}
	return r.Instances[i%len(r.Instances)]
}

// featureNames maps column names to feature names; two columns that map
// to one name are an error of kind Invalid.
func featureNames(cols []string) ([]string, error) {
	names := make([]string, len(cols))
	seen := map[string]string{}
	for k, c := range cols {
		b := []byte(strings.ToLower(c))
		for j, ch := range b {
			if !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '.' || ch == '_') {
				b[j] = '_'
			}
		}
		name := string(b[:min(len(b), snapshot.MaxName)])
		if prev, dup := seen[name]; dup {
			return nil, errors.E(errors.Invalid, errors.Errorf("columns %q and %q both become feature %q", prev, c, name))
		}
		seen[name], names[k] = c, name
	}
	return names, nil
}
