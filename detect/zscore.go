package detect

import (
	"math"
	"unsafe"
)

// ZScore scores a row by the mean robust z-score of its features: each
// feature's distance from the baseline median in units of its scale
// (1.4826 times the median absolute deviation, or 1.2533 times the mean
// absolute deviation when the MAD is 0), capped at 1000 per feature.
type ZScore struct {
	cfg Config
	p   profile
}

var _ Detector = (*ZScore)(nil)

// NewZScore returns an unfitted robust z-score detector.
func NewZScore(c Config) *ZScore { return &ZScore{cfg: c} }

// Fit implements Detector.
func (z *ZScore) Fit(X [][]float64) error {
	if _, err := check("detect.ZScore.Fit", X, z.cfg.Names); err != nil {
		return err
	}
	z.p = fitProfile(X, z.cfg.Names)
	return nil
}

// Score implements Detector. It adds what profile.z gives, without z's
// test for a value at the median where the scale is positive: d/scale is
// then 0 as well, and the test, on a value common in features that count
// things, was often mispredicted.
func (z *ZScore) Score(x []float64) float64 {
	mustLen(x, len(z.p.median))
	med, scale := z.p.median[:len(x)], z.p.scale[:len(x)]
	s := 0.0
	for j, v := range x {
		d, sc := math.Abs(v-med[j]), scale[j]
		if sc > 0 && d < zCap*sc {
			s += d / sc
			continue
		}
		s += z.p.z(j, v)
	}
	return s / float64(len(x))
}

// Explain implements Detector; Deviation.Score is the robust z-score.
func (z *ZScore) Explain(x []float64) []Deviation {
	mustLen(x, len(z.p.median))
	return z.p.explain(x, nil)
}

// ScoreBatch implements BatchScorer. Where the processor has AVX-512
// (vectors), it scores eight rows at a time, one to a lane of a vector,
// each adding its features in Score's order with Score's operations, so
// that the bits are Score's: a row's score is a chain of dependent
// additions and divisions, which one row at a time left the processor
// waiting on the divider.
func (z *ZScore) ScoreBatch(X [][]float64, out []float64) {
	out = out[:len(X)]
	d, i := len(z.p.median), 0
	if vectors && d > 0 {
		var buf [8 * 64]float64 // on the stack for up to 64 features
		cols := buf[:]
		if 8*d > len(buf) {
			cols = make([]float64, 8*d)
		}
		for ; i+8 <= len(X); i += 8 {
			transpose8(cols, X[i:i+8], d)
			zscore8(&cols[0], d, &z.p.median[0], &z.p.scale[0], (*[8]float64)(out[i:i+8]))
		}
	}
	for ; i < len(X); i++ {
		out[i] = z.Score(X[i])
	}
}

// transpose8 stores the 8 rows of X, of d features each, feature by
// feature in cols: feature j of row l at cols[8j+l]; 8 features at a
// time by transpose8x8 where vectors allow, the rest one by one.
func transpose8(cols []float64, X [][]float64, d int) {
	cols = cols[:8*d]
	var rows [8]*float64
	for l, x := range X[:8] {
		mustLen(x, d)
		rows[l] = unsafe.SliceData(x)
	}
	j := 0
	if vectors && d >= 8 {
		j = d &^ 7
		transpose8x8(&rows, d/8, unsafe.Pointer(&cols[0]), 8*8, false)
	}
	for l, x := range X[:8] {
		for k := j; k < d; k++ {
			cols[8*k+l] = x[k]
		}
	}
}
