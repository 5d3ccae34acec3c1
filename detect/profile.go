package detect

import (
	"math"
	"slices"
)

// zCap bounds a single feature's robust z-score, so that a feature that was
// constant in the baseline (scale 0) gives a large but finite deviation and
// no single feature can outweigh all others without limit.
const zCap = 1000

// profile is the robust baseline of each feature: its median and a scale
// that estimates the standard deviation of normal rows.
type profile struct {
	names  []string
	median []float64
	scale  []float64 // 0 when the feature was constant
}

// fitProfile computes the profile of X, which check has validated.
func fitProfile(X [][]float64, names []string) profile {
	d := len(X[0])
	p := profile{names: names, median: make([]float64, d), scale: make([]float64, d)}
	dev := make([]float64, len(X))
	for j := range d {
		col := column(X, j)
		med := quantile(col, 0.5)
		mean := 0.0
		for i, v := range col {
			dev[i] = math.Abs(v - med)
			mean += dev[i]
		}
		mean /= float64(len(col))
		slices.Sort(dev)
		s := 1.4826 * quantile(dev, 0.5) // MAD, consistent for a normal law
		if s == 0 {
			s = 1.2533 * mean // mean absolute deviation, likewise
		}
		p.median[j], p.scale[j] = med, s
	}
	return p
}

// z returns the robust z-score of value v of feature j: |v-median|/scale,
// at most zCap.
func (p *profile) z(j int, v float64) float64 {
	d := math.Abs(v - p.median[j])
	if d == 0 {
		return 0
	}
	if s := p.scale[j]; s > 0 && d < zCap*s {
		return d / s
	}
	return zCap
}

// explain lists the features of x with a positive per-feature score, most
// deviant first. score gives feature j's score; nil means the robust z.
func (p *profile) explain(x []float64, score func(j int, v float64) float64) []Deviation {
	if score == nil {
		score = p.z
	}
	var out []Deviation
	for j, v := range x {
		s := score(j, v)
		if s <= 0 || math.IsNaN(s) {
			continue
		}
		out = append(out, Deviation{
			Feature: featureName(p.names, j), Index: j,
			Value: v, Baseline: p.median[j], Score: s,
		})
	}
	slices.SortStableFunc(out, func(a, b Deviation) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return 0
	})
	return out
}

// quantile returns the q-quantile of sorted, interpolating linearly.
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	pos := q * float64(len(sorted)-1)
	i := int(pos)
	if i >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	f := pos - float64(i)
	return sorted[i] + f*(sorted[i+1]-sorted[i])
}
