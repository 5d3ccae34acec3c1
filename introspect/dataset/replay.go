package dataset

import (
	"fmt"
	"imgward"
	"strings"
	"time"

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
//     (its first snapshot.MaxSequence calls), as a collector would send
//     it: features of traces are the scoring pipeline's to derive
//     (package detect/pipeline), not a source's;
//   - the label column, if named, becomes the set "meta.label", so that
//     whoever reads the snapshots can score them; as metadata
//     (imgward.MetaPrefix) it is never a feature, so a label cannot move
//     a score.
type Replay struct {
	LabelCol    string
	SequenceCol string
	// Exclude names columns that are not features, beside the label and
	// the trace: imgward eval's --train-where columns, and its label when
	// it replays rows without one.
	Exclude []string
	// Instances are dealt the rows in turn; empty means one instance per
	// row, i-0000000000000001 for the first.
	Instances []string
	Start     time.Time     // taken_at of the first row; zero means now
	Step      time.Duration // between consecutive rows; 0 means 1 ms
}

// labelSet is the set that carries a row's label: metadata, never scored.
const labelSet = imgward.MetaPrefix + "label"

// Snapshots returns the rows of t as snapshots, in row order.
func (r *Replay) Snapshots(t *Table) ([]snapshot.Snapshot, error) {
	const op = "dataset.Replay"
	step := r.Step
	if step <= 0 {
		step = time.Millisecond
	}
	start := r.Start
	if start.IsZero() {
		start = time.Now()
	}
	cols := t.NumericColumns(append([]string{r.LabelCol, r.SequenceCol}, r.Exclude...)...)
	names, err := featureNames(cols)
	if err != nil {
		return nil, errors.E(op, err)
	}
	if len(names) > snapshot.MaxNumeric {
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
			Sets:    map[string][]string{},
		}
		s.SetNumeric(names, X[i]) // every row shares names: featurised once for all
		if seqs != nil {
			seq := seqs[i]
			s.Syscalls = &snapshot.Syscalls{Sequence: seq[:min(len(seq), snapshot.MaxSequence)]}
		}
		if labels != nil {
			s.Sets[labelSet] = []string{labels[i][:min(len(labels[i]), snapshot.MaxItem)]}
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
