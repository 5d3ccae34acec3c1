package detect

import (
	"math"
	"slices"
	"sync"

	"imgward/errors"
)

// Ensemble averages the scores of several detectors after putting each on a
// common scale: a member's score is standardised by the median and the
// robust spread (as in ZScore) of its scores on the training rows, so that
// 0 is a typical normal row and each unit one robust standard deviation of
// normal rows, whatever the member's own scale. Every member therefore
// weighs the same, and one whose training scores spread little (it is sure
// about normal rows) speaks loudest about the rows it finds odd.
type Ensemble struct {
	cfg     Config
	p       profile
	members []Detector
	center  []float64
	scale   []float64
	pool    sync.Pool // of *[]float64, ScoreBatch's scores of a member
}

var _ Detector = (*Ensemble)(nil)

// NewEnsemble returns an unfitted ensemble of Config.Members (default
// DefaultMembers).
func NewEnsemble(c Config) *Ensemble { return &Ensemble{cfg: c} }

// Fit implements Detector. It fits every member on X, then scores X with
// each to learn its scale. An unknown member, or an ensemble as a member,
// is an error of kind Invalid.
func (e *Ensemble) Fit(X [][]float64) error {
	const op = "detect.Ensemble.Fit"
	if _, err := check(op, X, e.cfg.Names); err != nil {
		return err
	}
	names := e.cfg.Members
	if len(names) == 0 {
		names = DefaultMembers
	}
	e.p = fitProfile(X, e.cfg.Names)
	e.members = e.members[:0]
	e.center, e.scale = make([]float64, len(names)), make([]float64, len(names))
	scores := make([]float64, len(X))
	for m, name := range names {
		if name == "ensemble" {
			return errors.E(op, errors.Invalid, errors.New("an ensemble cannot be a member of an ensemble"))
		}
		c := e.cfg
		c.Members = nil
		c.Seed = e.cfg.Seed + uint64(m) // members draw independent streams
		d, err := New(name, c)
		if err != nil {
			return err
		}
		if err := d.Fit(X); err != nil {
			return err
		}
		for i, row := range X {
			scores[i] = d.Score(row)
		}
		e.center[m], e.scale[m] = robustScale(scores)
		e.members = append(e.members, d)
	}
	return nil
}

// robustScale returns the median of xs and its robust spread: 1.4826 times
// the MAD, or 1.2533 times the mean absolute deviation when the MAD is 0,
// or 1 when xs is constant. It reorders xs.
func robustScale(xs []float64) (center, scale float64) {
	slices.Sort(xs)
	center = quantile(xs, 0.5)
	mean := 0.0
	for i, v := range xs {
		xs[i] = math.Abs(v - center)
		mean += xs[i]
	}
	slices.Sort(xs)
	if scale = 1.4826 * quantile(xs, 0.5); scale > 0 {
		return center, scale
	}
	if scale = 1.2533 * mean / float64(len(xs)); scale > 0 {
		return center, scale
	}
	return center, 1
}

// Score implements Detector.
func (e *Ensemble) Score(x []float64) float64 {
	s := 0.0
	for m, d := range e.members {
		s += (d.Score(x) - e.center[m]) / e.scale[m]
	}
	return s / float64(len(e.members))
}

// Explain implements Detector; Deviation.Score is the robust z-score.
func (e *Ensemble) Explain(x []float64) []Deviation {
	mustLen(x, len(e.p.median))
	return e.p.explain(x, nil)
}

// ScoreBatch implements BatchScorer, letting each member score the whole
// batch with its own ScoreBatch when it has one.
func (e *Ensemble) ScoreBatch(X [][]float64, out []float64) {
	out = out[:len(X)]
	clear(out)
	buf, _ := e.pool.Get().(*[]float64)
	if buf == nil || cap(*buf) < len(X) {
		buf = new(make([]float64, len(X)))
	}
	defer e.pool.Put(buf)
	tmp := (*buf)[:len(X)]
	for m, d := range e.members {
		ScoreBatch(d, X, tmp)
		for i, s := range tmp {
			out[i] += (s - e.center[m]) / e.scale[m]
		}
	}
	for i := range out {
		out[i] /= float64(len(e.members))
	}
}
