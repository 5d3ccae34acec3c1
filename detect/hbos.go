package detect

import (
	"math"
	"math/bits"
)

// HBOS is the histogram-based outlier score (Goldstein and Dengel, 2012):
// each feature gets an equal-width histogram over its baseline range, and a
// row scores the sum over features of -log of its bin's height, the height
// normalised so that the fullest bin is 1 and smoothed by one count so that
// empty bins cost log(max count + 1). A value outside the baseline range
// costs as much as an empty bin plus log(1 + its distance in bin widths),
// so that farther is worse; for a feature that was constant, the distance
// is relative to the constant (or absolute, when it is below 1).
type HBOS struct {
	cfg   Config
	p     profile
	bins  int
	rng   []binRange
	cost  []float64 // d×bins: -log height of each bin
	empty []float64 // per feature: the cost of an empty bin
}

// binRange is the range of a feature's bins, [lo, hi], in bins of width
// (0 for a constant feature); the three are kept together for Score.
type binRange struct{ lo, hi, width float64 }

var _ Detector = (*HBOS)(nil)

// NewHBOS returns an unfitted HBOS detector.
func NewHBOS(c Config) *HBOS { return &HBOS{cfg: c} }

// Fit implements Detector.
func (h *HBOS) Fit(X [][]float64) error {
	d, err := check("detect.HBOS.Fit", X, h.cfg.Names)
	if err != nil {
		return err
	}
	h.p = fitProfile(X, h.cfg.Names)
	h.bins = h.cfg.Bins
	if h.bins <= 0 {
		h.bins = min(max(int(math.Ceil(math.Sqrt(float64(len(X))))), 5), 50)
	}
	h.rng, h.cost, h.empty = make([]binRange, d), make([]float64, d*h.bins), make([]float64, d)
	counts := make([]float64, h.bins)
	for j := range d {
		clear(counts)
		lo, hi := X[0][j], X[0][j]
		for _, row := range X {
			lo, hi = min(lo, row[j]), max(hi, row[j])
		}
		w := (hi - lo) / float64(h.bins)
		// The conversion rounds the product before the sum: a GOAMD64=v3
		// build would fuse them, and a value at the top of the range could
		// fall in the last bin on one build and beyond it on another.
		h.rng[j] = binRange{lo: lo, hi: lo + float64(w*float64(h.bins)), width: w}
		for _, row := range X {
			counts[h.bin(j, row[j])]++
		}
		top := 0.0
		for _, c := range counts {
			top = max(top, c)
		}
		h.empty[j] = math.Log(top + 1)
		for b, c := range counts {
			h.cost[j*h.bins+b] = math.Log(top+1) - math.Log(c+1)
		}
	}
	return nil
}

// bin returns the bin of value v of feature j, which must lie in range.
func (h *HBOS) bin(j int, v float64) int {
	r := &h.rng[j]
	if r.width == 0 {
		return 0
	}
	return min(int((v-r.lo)/r.width), h.bins-1)
}

// featureCost is feature j's part of the score of value v.
func (h *HBOS) featureCost(j int, v float64) float64 {
	w, lo, hi := h.rng[j].width, h.rng[j].lo, h.rng[j].hi
	if w == 0 {
		if v == lo {
			return h.cost[j*h.bins]
		}
		if v != v {
			return math.Inf(1)
		}
		return h.empty[j] + math.Log1p(min(math.Abs(v-lo)/max(math.Abs(lo), 1), zCap))
	}
	switch {
	case v != v: // NaN: outside every bin, farther than any value
		return math.Inf(1)
	case v < lo:
		return h.empty[j] + math.Log1p((lo-v)/w)
	case v > hi:
		return h.empty[j] + math.Log1p((v-hi)/w)
	}
	return h.cost[j*h.bins+h.bin(j, v)]
}

// Score implements Detector. A value inside the range of its feature's
// bins, the common case, takes its bin's cost here, without featureCost's
// tests for NaN and values out of range; so does the value of a feature
// that was constant, when it still is.
func (h *HBOS) Score(x []float64) float64 {
	mustLen(x, len(h.rng))
	// The fields in locals: read through h, the call below made the
	// compiler load them again at every feature.
	rng, cost, bins := h.rng[:len(x)], h.cost, h.bins
	s := 0.0
	for j, v := range x {
		if r := &rng[j]; v >= r.lo && v <= r.hi {
			b := 0 // a constant feature's one bin, whose value v equals
			if r.width > 0 {
				b = min(int((v-r.lo)/r.width), bins-1) // bin, whose test of width is done
			}
			s += cost[j*bins+b]
			continue
		}
		s += h.featureCost(j, v)
	}
	return s
}

// Explain implements Detector; Deviation.Score is the feature's part of
// the score, -log of its normalised bin height.
func (h *HBOS) Explain(x []float64) []Deviation {
	mustLen(x, len(h.rng))
	return h.p.explain(x, h.featureCost)
}

// ScoreBatch implements BatchScorer. Where the processor has AVX-512
// (vectors), it scores eight rows at a time, one to a lane: the costs of
// values inside their bins and beyond a feature's range by vector
// (hbos8), NaNs and values off a constant feature's one value by
// featureCost as Score takes them, then each row's sum in Score's order,
// so that the bits are Score's.
func (h *HBOS) ScoreBatch(X [][]float64, out []float64) {
	out = out[:len(X)]
	d, i := len(h.rng), 0
	if vectors && d > 0 {
		var buf [2 * 8 * 64]float64 // on the stack for up to 64 features
		var marks [64]uint8
		cols, terms, far := buf[:len(buf)/2], buf[len(buf)/2:], marks[:]
		if d > len(far) {
			cols, terms, far = make([]float64, 8*d), make([]float64, 8*d), make([]uint8, d)
		}
		cols, terms, far = cols[:8*d], terms[:8*d], far[:d]
		for ; i+8 <= len(X); i += 8 {
			transpose8(cols, X[i:i+8], d)
			hbos8(&cols[0], d, &h.rng[0], &h.cost[0], h.bins, &terms[0], &far[0], &h.empty[0])
			for j, m := range far {
				for ; m != 0; m &= m - 1 {
					k := 8*j + bits.TrailingZeros8(m)
					terms[k] = h.featureCost(j, cols[k])
				}
			}
			sum8(&terms[0], d, (*[8]float64)(out[i:i+8]))
		}
	}
	for ; i < len(X); i++ {
		out[i] = h.Score(X[i])
	}
}
