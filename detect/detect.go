// Package detect holds imgward's anomaly detectors and the metrics that
// evaluate them.
//
// A Detector learns a baseline of normal behaviour from rows of numeric
// features (Fit) and then scores new rows (Score): the higher the score, the
// more anomalous the row. Scores of different detectors are on different
// scales; only their order is comparable, except that Ensemble normalises its
// members. Explain names the features of a row that deviate most from the
// baseline.
//
// The detectors: robust z-score (median and MAD), HBOS (histograms), ECOD
// (empirical tail probabilities), ECODX (ECOD with extrapolated tails),
// Copula (the features' normal scores by Mahalanobis distance), isolation
// forest, and an ensemble (by default of the z-score, HBOS, ECOD and the
// forest).
// Every detector is deterministic: the same rows and the same Config.Seed
// give the same model and the same scores. After Fit, Score and Explain are
// safe for concurrent use, and Score allocates nothing.
package detect

import (
	"fmt"
	"math"
	"slices"
	"sort"

	"imgward/errors"
)

// Detector scores rows of numeric features against a baseline of normal rows.
type Detector interface {
	// Fit learns the baseline from X, rows of equal length with finite
	// values. It returns an error of kind Invalid when X is empty, ragged
	// or holds NaN or Inf, or when Config.Names does not match the rows.
	Fit(X [][]float64) error
	// Score returns the anomaly score of x, higher is more anomalous. x
	// must have the length of the rows given to Fit; Score panics on a
	// wrong length (a programmer's error) and allocates nothing. Callers
	// validate their input (snapshot ingest and the dataset reader refuse
	// NaN and Inf), but a non-finite value never lowers a score: it counts
	// as at least as far out as any finite value, and the score is never
	// NaN, which would pass every threshold unseen.
	Score(x []float64) float64
	// Explain returns the features of x ordered by how far they deviate
	// from the baseline, most deviant first; features that do not deviate
	// are left out.
	Explain(x []float64) []Deviation
}

// Deviation is one feature's part in an explanation.
type Deviation struct {
	Feature  string  // the feature's name, or "f<index>" when unnamed
	Index    int     // the feature's column
	Value    float64 // the row's value
	Baseline float64 // the baseline's median of the feature
	// Score is how far Value is from the baseline in the detector's own
	// terms: a robust z-score for zscore, iforest and ensemble; the
	// negative log tail probability for ecod; the negative log density for
	// hbos.
	Score float64
}

// Config configures a detector. The zero Config is valid: every field has a
// documented default.
type Config struct {
	// Names names the features, in column order, for explanations. Empty
	// means f0, f1, ...
	Names []string
	// Seed seeds the random choices of randomised detectors (iforest).
	Seed uint64
	// Trees is the number of isolation trees; 0 means 100.
	Trees int
	// SampleSize is the number of rows each isolation tree sees; 0 means
	// 256 (or all rows, when fewer).
	SampleSize int
	// Bins is the number of HBOS histogram bins per feature; 0 means
	// the square root of the number of rows, between 5 and 50.
	Bins int
	// Members lists the detectors of an ensemble by name; empty means
	// DefaultMembers.
	Members []string
}

// DefaultMembers are the members of an ensemble when Config.Members is
// empty.
var DefaultMembers = []string{"zscore", "hbos", "ecod", "iforest"}

// DefaultName is the detector imgward uses when none is named: the best
// of leave-one-family-out selection on CIC-MalMem-2022 that scores fast
// enough for issue 9's speed goal (Copula ranks above it but scores at
// about 0.6 times its rate; docs/EVALUATION.md). A baseline records its
// detector, so a change here changes only the baselines built after it.
const DefaultName = "ensemble"

var registry = map[string]func(Config) Detector{
	"zscore":   func(c Config) Detector { return NewZScore(c) },
	"hbos":     func(c Config) Detector { return NewHBOS(c) },
	"ecod":     func(c Config) Detector { return NewECOD(c) },
	"ecodx":    func(c Config) Detector { return NewECODX(c) },
	"copula":   func(c Config) Detector { return NewCopula(c) },
	"iforest":  func(c Config) Detector { return NewIForest(c) },
	"ensemble": func(c Config) Detector { return NewEnsemble(c) },
}

// Names lists the detectors that New knows, sorted.
func Names() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// New returns an unfitted detector by name; an unknown name is an error of
// kind Invalid.
func New(name string, c Config) (Detector, error) {
	mk, ok := registry[name]
	if !ok {
		return nil, errors.E("detect.New", errors.Invalid,
			errors.Errorf("unknown detector %q (known: %v)", name, Names()))
	}
	return mk(c), nil
}

// check validates a training matrix and returns its number of columns.
func check(op string, X [][]float64, names []string) (int, error) {
	if len(X) == 0 {
		return 0, errors.E(op, errors.Invalid, errors.New("no training rows"))
	}
	d := len(X[0])
	if d == 0 {
		return 0, errors.E(op, errors.Invalid, errors.New("rows have no features"))
	}
	if len(names) != 0 && len(names) != d {
		return 0, errors.E(op, errors.Invalid,
			errors.Errorf("%d feature names for %d features", len(names), d))
	}
	for i, row := range X {
		if len(row) != d {
			return 0, errors.E(op, errors.Invalid,
				errors.Errorf("row %d has %d features, row 0 has %d", i, len(row), d))
		}
		for j, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return 0, errors.E(op, errors.Invalid,
					errors.Errorf("row %d feature %d is %v", i, j, v))
			}
		}
	}
	return d, nil
}

// column returns a sorted copy of column j of X.
func column(X [][]float64, j int) []float64 {
	c := make([]float64, len(X))
	for i, row := range X {
		c[i] = row[j]
	}
	slices.Sort(c)
	return c
}

// featureName returns the name of column j.
func featureName(names []string, j int) string {
	if j < len(names) {
		return names[j]
	}
	return fmt.Sprintf("f%d", j)
}

// mustLen panics when x does not have d features: calling Score with a row
// of the wrong length, or before Fit, is a programmer's error.
func mustLen(x []float64, d int) {
	if len(x) != d || d == 0 {
		panic(fmt.Sprintf("detect: Score of %d features, fitted on %d", len(x), d))
	}
}

// BatchScorer is the optional ability of a Detector to score many rows
// faster than one by one. ScoreBatch writes the score of X[i] to out[i];
// out must be at least as long as X.
type BatchScorer interface {
	ScoreBatch(X [][]float64, out []float64)
}

// ScoreBatch scores the rows of X into out with d's ScoreBatch when it has
// one, and row by row otherwise.
func ScoreBatch(d Detector, X [][]float64, out []float64) {
	if b, ok := d.(BatchScorer); ok {
		b.ScoreBatch(X, out)
		return
	}
	for i, x := range X {
		out[i] = d.Score(x)
	}
}
