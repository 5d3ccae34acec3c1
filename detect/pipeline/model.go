package pipeline

import (
	"cmp"
	"encoding/json"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"imgward"
	"imgward/detect"
	"imgward/detect/trace"
	"imgward/errors"
	"imgward/snapshot"
)

// Model is what a baseline keeps: the training matrix and what turns a
// snapshot into a row. Keeping the rows rather than a fitted detector's
// internals makes the stored form independent of the detectors' code:
// every detector is deterministic, so refitting on the same rows with the
// same seed gives the same scores.
type Model struct {
	Detector string              `json:"detector"`
	Seed     uint64              `json:"seed"`
	Numeric  []string            `json:"numeric"` // numeric features, sorted
	Sets     []string            `json:"sets"`    // set features, sorted
	Vocab    map[string][]string `json:"vocab"`   // set → its common items, sorted
	Rows     [][]float64         `json:"rows"`
	// Traces are the system-call sequences of the training snapshots that
	// had one, when at least minTraces did: the sequence model is refitted
	// from them, as the detector is from Rows.
	Traces [][]int32 `json:"traces,omitempty"`
	// Sequence configures the sequence features (its Seed is the
	// model's). A baseline stored before it was recorded has none: it was
	// built with legacySequence, and keeps scoring as built.
	Sequence *trace.SequenceConfig `json:"sequence,omitempty"`
	// NoCallSet records that the model does not score the set of a
	// snapshot's distinct system calls (syscallSet) beside its sequence
	// features. A baseline stored before it was recorded scored the set,
	// and keeps doing so.
	NoCallSet bool            `json:"no_call_set,omitempty"`
	seq       *trace.Sequence // fitted on Traces when the model was built, for Fit
}

// Config configures Build; zero fields take the service's defaults.
type Config struct {
	// Detector is a name of detect.Names; "" means the default:
	// TraceFeatures.Detector for a baseline of traces, if set, else
	// detect.DefaultName.
	Detector string
	Seed     uint64
	MaxRows  int // training rows kept; default DefaultMaxRows
	// Sequence configures the sequence features; nil means
	// DefaultSequence(). Its Seed is ignored for the model's.
	Sequence *trace.SequenceConfig
	// Features chooses the feature families and the detector of a
	// baseline whose snapshots carry system-call sequences; nil means
	// DefaultTraceFeatures().
	Features *TraceFeatures
}

// DefaultMaxRows is the bound of a baseline's training rows that the
// service uses.
const DefaultMaxRows = 4096

// Bounds of a model, so that a baseline stays small whatever the fleet.
const (
	maxModelSets  = 64
	maxVocab      = 1024
	minVocabShare = 0.01 // an item is common when this share of rows has it
	// The sequence model needs a few traces per fold of its cross-fitting,
	// and keeps at most maxTraceCalls calls (about 5 MB of JSON).
	minTraces     = 10
	maxTraceCalls = 1 << 20
)

// syscallSet names the set feature derived from a snapshot's system calls:
// the distinct call numbers of its sequence or histogram, so that a call
// that the role's baseline never makes counts as novel.
const syscallSet = "syscalls"

// Build learns the features and the training matrix from snapshots,
// ordered by instance id, keeping at most c.MaxRows of them at an even
// stride so that the choice is deterministic. It records the
// configuration in the model, which Fit follows.
func Build(c Config, snaps []*snapshot.Snapshot) *Model {
	maxRows := c.MaxRows
	if maxRows <= 0 {
		maxRows = DefaultMaxRows
	}
	seqCfg := DefaultSequence()
	if c.Sequence != nil {
		seqCfg = *c.Sequence
	}
	seqCfg.Seed = 0 // the model's Seed applies
	if len(snaps) > maxRows {
		kept := make([]*snapshot.Snapshot, maxRows)
		for i := range kept {
			kept[i] = snaps[i*len(snaps)/maxRows]
		}
		snaps = kept
	}
	feats := DefaultTraceFeatures()
	if c.Features != nil {
		feats = *c.Features
	}
	m := &Model{Detector: c.Detector, Seed: c.Seed, Vocab: map[string][]string{}, Sequence: &seqCfg}
	if hasTraces(snaps) {
		m.NoCallSet = !feats.CallSet
		if m.Detector == "" {
			m.Detector = feats.Detector
		}
	}
	if m.Detector == "" {
		m.Detector = detect.DefaultName
	}
	numeric, sets := map[string]bool{}, map[string]map[string]int{}
	for _, s := range snaps {
		for n := range s.Numeric {
			if !imgward.IsMeta(n) { // metadata is never a feature
				numeric[n] = true
			}
		}
		for n, items := range m.setsOf(s) {
			if sets[n] == nil {
				sets[n] = map[string]int{}
			}
			for _, it := range dedup(items) {
				sets[n][it]++
			}
		}
	}
	m.Numeric = sortedKeys(numeric)
	if len(m.Numeric) > 256 {
		m.Numeric = m.Numeric[:256]
	}
	need := max(2, int(math.Ceil(minVocabShare*float64(len(snaps)))))
	for _, n := range sortedKeys(sets) {
		if len(m.Sets) == maxModelSets {
			break
		}
		m.Sets = append(m.Sets, n)
		var common []string
		for it, c := range sets[n] {
			if c >= need {
				common = append(common, it)
			}
		}
		// The most common first when over the bound, then sorted.
		slices.SortFunc(common, func(a, b string) int {
			return cmp.Or(cmp.Compare(sets[n][b], sets[n][a]), cmp.Compare(a, b))
		})
		common = common[:min(len(common), maxVocab)]
		slices.Sort(common)
		m.Vocab[n] = common
	}
	sc := &Scorer{m: m}
	sc.idx.index(m)
	for _, s := range snaps {
		m.Rows = append(m.Rows, sc.Vector(s))
	}
	m.learnTraces(snaps)
	return m
}

// hasTraces reports whether enough snapshots carry a system-call sequence
// for a model to learn sequence features from them (learnTraces).
func hasTraces(snaps []*snapshot.Snapshot) bool {
	n := 0
	for _, s := range snaps {
		if sequenceOf(s) != nil {
			if n++; n >= minTraces {
				return true
			}
		}
	}
	return false
}

// learnTraces adds the sequence features to the rows when enough training
// snapshots carry a system-call sequence: each trace gets its cross-fitted
// features (trace.Sequence), and a row without a trace the typical ones,
// since a collector that sees no calls says nothing about them.
func (m *Model) learnTraces(snaps []*snapshot.Snapshot) {
	var traces [][]int32
	var with []int // the rows that have a trace
	calls := 0
	for i, s := range snaps {
		if t := sequenceOf(s); t != nil && calls+len(t) <= maxTraceCalls {
			traces, with = append(traces, t), append(with, i)
			calls += len(t)
		}
	}
	if len(traces) < minTraces {
		return
	}
	seq := trace.NewSequence(m.sequenceConfig())
	feats, err := seq.Fit(traces)
	if err != nil {
		return // too few traces: the model goes without
	}
	typical := seq.Typical()
	for i := range m.Rows {
		m.Rows[i] = append(m.Rows[i], typical...)
	}
	for k, i := range with {
		copy(m.Rows[i][len(m.Rows[i])-len(typical):], feats[k])
	}
	m.Traces, m.seq = traces, seq
}

// Columns names the row's columns: the numeric features, then per set
// its size and its number of items that are not common in the baseline,
// then the sequence features if the model has traces.
func (m *Model) Columns() []string {
	cols := slices.Clone(m.Numeric)
	for _, n := range m.Sets {
		cols = append(cols, n+".count", n+".novel")
	}
	if len(m.Traces) > 0 {
		for _, n := range trace.NewSequence(m.sequenceConfig()).Names() {
			cols = append(cols, "syscalls."+strings.TrimPrefix(n, "seq."))
		}
	}
	return cols
}

// Scorer is a fitted model: a detector and the training rows' scores, to
// calibrate a score into a surprise.
type Scorer struct {
	m      *Model
	cols   []string
	idx    columns // the model's names resolved to columns
	det    detect.Detector
	calib  []float64       // training scores, sorted
	seq    *trace.Sequence // fitted on m.Traces, or nil
	seqTyp []float64       // its features of a snapshot without a trace
}

// Fit refits the model's detector on its rows and calibrates it.
func (m *Model) Fit() (*Scorer, error) {
	const op = "pipeline.Fit"
	sc := &Scorer{m: m, cols: m.Columns()}
	sc.idx.index(m)
	if len(m.Traces) > 0 {
		// A model just built has its sequence model; a stored one refits
		// it, with the same result: the fit is deterministic.
		if sc.seq = m.seq; sc.seq == nil {
			sc.seq = trace.NewSequence(m.sequenceConfig())
			if _, err := sc.seq.Fit(m.Traces); err != nil {
				return nil, errors.E(op, err)
			}
		}
		sc.seqTyp = sc.seq.Typical()
	}
	det, err := detect.New(m.Detector, detect.Config{Names: sc.cols, Seed: m.Seed})
	if err != nil {
		return nil, errors.E(op, err)
	}
	if err := det.Fit(m.Rows); err != nil {
		return nil, errors.E(op, err)
	}
	sc.det = det
	if sc.calib, err = m.crossScores(sc.cols); err != nil {
		return nil, errors.E(op, err)
	}
	slices.Sort(sc.calib)
	return sc, nil
}

// Score returns the detector's anomaly score of a row of Vector.
func (sc *Scorer) Score(x []float64) float64 { return sc.det.Score(x) }

// Explain returns the features of a row of Vector, the most deviant first.
func (sc *Scorer) Explain(x []float64) []detect.Deviation { return sc.det.Explain(x) }

// Vector turns a snapshot into a row. A numeric feature the snapshot lacks
// counts as 0, as does a set it lacks: collectors omit what they did not
// see. The sequence features, if the model has them, come last.
func (sc *Scorer) Vector(s *snapshot.Snapshot) []float64 {
	nc := sc.idx.cache()
	defer sc.idx.release(nc)
	return sc.vector(make([]float64, sc.width(), sc.width()+len(sc.seqTyp)), s, nc)
}

// setsOf returns a snapshot's set features: its sets but the metadata
// (imgward.IsMeta), which is never scored, with, if it has system calls, no
// set of that name and the model scores it (NoCallSet), the set of its
// distinct call numbers.
func (m *Model) setsOf(s *snapshot.Snapshot) map[string][]string {
	sets := s.Sets
	for n := range s.Sets {
		if imgward.IsMeta(n) {
			sets = make(map[string][]string, len(s.Sets))
			for n, items := range s.Sets {
				if !imgward.IsMeta(n) {
					sets[n] = items
				}
			}
			break
		}
	}
	c := s.Syscalls
	if c == nil || sets[syscallSet] != nil || m.NoCallSet {
		return sets
	}
	var calls []string
	if len(c.Sequence) > 0 {
		seen := map[int32]bool{}
		for _, nr := range c.Sequence {
			if !seen[nr] {
				seen[nr] = true
				calls = append(calls, strconv.Itoa(int(nr)))
			}
		}
	}
	for nr, n := range c.Histogram {
		if n > 0 {
			calls = append(calls, strconv.Itoa(int(nr)))
		}
	}
	if len(calls) == 0 {
		return sets
	}
	with := make(map[string][]string, len(sets)+1)
	maps.Copy(with, sets)
	with[syscallSet] = calls
	return with
}

// sequenceOf returns a snapshot's system-call sequence, or nil.
func sequenceOf(s *snapshot.Snapshot) []int32 {
	if s.Syscalls == nil || len(s.Syscalls.Sequence) == 0 {
		return nil
	}
	return s.Syscalls.Sequence
}

// Marshal returns the model as a baseline stores it (imgward.Baseline.Model).
func (m *Model) Marshal() []byte { b, _ := json.Marshal(m); return b }

// Load reads a model as Marshal wrote it; an unreadable one is an error
// of kind Internal, since only the service stores models.
func Load(b []byte) (*Model, error) {
	var m Model
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, errors.E("pipeline.Load", errors.Internal, err)
	}
	return &m, nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
