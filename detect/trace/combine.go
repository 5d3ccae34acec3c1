package trace

import (
	"encoding/json"
	"math"
	"slices"

	"imgward/errors"
)

// Combine says how Sequence turns its models' scores of a trace into
// features.
type Combine uint8

const (
	// Separate gives each model's score as a feature, for the detectors
	// to combine.
	Separate Combine = iota
	// Min gives one feature, the smallest of the models' robust z-scores
	// (distance above the training traces' median, in median absolute
	// deviations; 0 below it): a trace is as novel as the model that finds
	// it most familiar, as in the ensemble of Kim et al. (2016), which
	// accumulates the sequences any model finds highly normal.
	Min
	// Fisher gives one feature, Fisher's combination of the models'
	// conformal tail probabilities: the sum over models of -ln p, p = (1 +
	// #training scores >= the trace's) / (n + 1) against the cross-fitted
	// training traces. Each model's evidence counts by how rare it is
	// among normal traces, whatever its scale, and a trace novel to two
	// models adds both up; the fleet combines instances the same way.
	Fisher
)

// String returns the name of the rule, as imgward eval prints it.
func (c Combine) String() string {
	switch c {
	case Separate:
		return "sep"
	case Min:
		return "min"
	case Fisher:
		return "fisher"
	}
	return "combine?"
}

// fitCombination learns what the rule needs from the cross-fitted training
// scores, one row per trace: each model's median and scale, and its sorted
// scores.
func (s *Sequence) fitCombination(rows [][]float64) {
	m := len(rows[0])
	s.center, s.scale, s.sorted = make([]float64, m), make([]float64, m), make([][]float64, m)
	for j := range m {
		col := make([]float64, len(rows))
		for i, x := range rows {
			col[i] = x[j]
		}
		slices.Sort(col)
		s.sorted[j] = col
		s.center[j], s.scale[j] = robustLocScale(slices.Clone(col))
	}
}

// combine returns the combination of x, the scores of one trace under each
// model.
func (s *Sequence) combine(x []float64) float64 {
	if s.cfg.Combine == Fisher {
		sum := 0.0
		for j, v := range x {
			col := s.sorted[j]
			below, _ := slices.BinarySearch(col, v) // training scores < v
			sum -= math.Log(float64(1+len(col)-below) / float64(len(col)+1))
		}
		return sum
	}
	z := math.Inf(1)
	for j, v := range x {
		z = min(z, max(0, (v-s.center[j])/s.scale[j]))
	}
	return z
}

// robustLocScale returns the median of xs and their median absolute
// deviation, scaled to estimate a standard deviation. Where more than half
// of the values are equal, the MAD is 0, and the mean absolute deviation
// stands in. Where all are, the model has seen no spread among normal
// traces, so any departure from their value is as novel as it gets: the
// scale is a billionth of the value (or of 1), and the other models decide
// the consensus. It sorts xs.
func robustLocScale(xs []float64) (loc, scale float64) {
	slices.Sort(xs)
	loc = xs[len(xs)/2]
	dev := make([]float64, len(xs))
	mean := 0.0
	for i, x := range xs {
		dev[i] = math.Abs(x - loc)
		mean += dev[i]
	}
	slices.Sort(dev)
	if scale = 1.4826 * dev[len(dev)/2]; scale > 0 {
		return loc, scale
	}
	if scale = 1.2533 * mean / float64(len(xs)); scale > 0 {
		return loc, scale
	}
	return loc, 1e-9 * max(1, math.Abs(loc))
}

// ParseCombine parses the name of a rule, as String returns it; an unknown
// name is an error of kind Invalid.
func ParseCombine(name string) (Combine, error) {
	for c := Separate; c <= Fisher; c++ {
		if c.String() == name {
			return c, nil
		}
	}
	return 0, errors.E("trace.ParseCombine", errors.Invalid,
		errors.Errorf("unknown combination %q (known: sep, min, fisher)", name))
}

// UnmarshalJSON decodes a configuration, including the form that baselines
// stored before Models and Combine existed: "Separate": true meant the
// models NLL and Unseen (NLL alone with "NoUnseen") as separate features,
// and false their consensus, the minimum over NLL, Calls and Pairs. A
// stored baseline thus keeps scoring as it was built.
func (c *SequenceConfig) UnmarshalJSON(b []byte) error {
	type plain SequenceConfig // without this method
	var v struct {
		plain
		Separate, NoUnseen *bool
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*c = SequenceConfig(v.plain)
	switch {
	case c.Models != nil || v.Separate == nil:
	case !*v.Separate:
		c.Models, c.Combine = []Model{NLL, Calls, Pairs}, Min
	case v.NoUnseen != nil && *v.NoUnseen:
		c.Models = []Model{NLL}
	default:
		c.Models = []Model{NLL, Unseen}
	}
	return nil
}
