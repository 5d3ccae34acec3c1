package detect

import "math"

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
