package detect

import (
	"math"

	"imgward/errors"
)

// ECODX is ECOD with extrapolated tails. ECOD gives every value beyond
// the baseline's largest the same right tail probability, 1/(n+1), however
// far beyond it lies, so that at the top of a ranking rows that are far out
// on a feature tie with rows that are barely out (docs/EVALUATION.md, "What
// the new default costs"). ECODX keeps ECOD's tails inside each feature's
// baseline range, bit for bit, and beyond it lets -log tail probability
// grow with the distance: an exponential tail fitted to the baseline's most
// extreme values (peaks over a threshold). The k most extreme values on a
// side (k = max(10, ⌈n/20⌉), at most n-1) are taken as excesses over the
// (k+1)-th; their mean β is the scale of the exponential. An exponential is
// memoryless, so beyond the extreme value x_max, whose tail ECOD puts at
// 1/(n+1),
//
//	-log p(v) = log(n+1) + (v - x_max)/β,
//
// continuous with ECOD's value just beyond x_max, and likewise on the left.
// A side whose k+1 most extreme values are equal (β = 0; a constant
// column, a feature floored at its median) is not extrapolated: it stays
// ECOD's. An extrapolated tail is at most maxTailX, so that no value (an
// infinity, NaN, which counts as beyond both sides) makes a score infinite.
type ECODX struct {
	e ECOD
	// Per feature: the smallest and largest baseline values, and 1/β of
	// each side's tail (0: not extrapolated).
	lo, hi       []float64
	invL, invR   []float64
	extrapolated bool // some side of some feature is
}

var _ Detector = (*ECODX)(nil)

// maxTailX bounds an extrapolated -log tail probability (p = e^-1e4):
// far beyond any threshold, and finite.
const maxTailX = 1e4

// NewECODX returns an unfitted ECODX detector.
func NewECODX(c Config) *ECODX { return &ECODX{e: ECOD{cfg: c}} }

// tailK is the number of extreme values an exponential tail is fitted to
// among n, fixed a priori: enough for a stable mean (10) and a twentieth of
// a large baseline, as in peaks-over-threshold practice.
func tailK(n int) int { return min(max(10, (n+19)/20), n-1) }

// Fit implements Detector.
func (x *ECODX) Fit(X [][]float64) error {
	if err := x.e.Fit(X); err != nil {
		return errors.E("detect.ECODX.Fit", err)
	}
	d := x.e.d
	x.lo, x.hi = make([]float64, d), make([]float64, d)
	x.invL, x.invR = make([]float64, d), make([]float64, d)
	x.extrapolated = false
	for j := range d {
		col := column(X, j)
		n := len(col)
		x.lo[j], x.hi[j] = col[0], col[n-1]
		k := tailK(n)
		if k < 1 {
			continue
		}
		var right, left float64
		for i := range k {
			right += col[n-1-i] - col[n-1-k]
			left += col[k] - col[i]
		}
		x.invR[j], x.invL[j] = invScale(right/float64(k)), invScale(left/float64(k))
		x.extrapolated = x.extrapolated || x.invR[j] > 0 || x.invL[j] > 0
	}
	return nil
}

// invScale returns 1/beta, or 0 when beta gives no tail (0, or so small
// that its inverse overflows).
func invScale(beta float64) float64 {
	if inv := 1 / beta; beta > 0 && !math.IsInf(inv, 0) {
		return inv
	}
	return 0
}

// beyond returns what v's extrapolated tails add to ECOD's left and right
// ones: (v - hi)/β on the right of the largest baseline value, (lo - v)/β
// on the left of the smallest, both for NaN, at most maxTailX each.
func (x *ECODX) beyond(j int, v float64) (left, right float64) {
	switch il, ir := x.invL[j], x.invR[j]; {
	// The products are rounded (the conversions) before the callers add
	// them, so that a build that may fuse a multiply and an add
	// (GOAMD64=v3) gives the same bits.
	case v > x.hi[j] && ir > 0:
		return 0, min(maxTailX, float64((v-x.hi[j])*ir))
	case v < x.lo[j] && il > 0:
		return min(maxTailX, float64((x.lo[j]-v)*il)), 0
	case v != v:
		return extended(il), extended(ir)
	}
	return 0, 0
}

// extended is what NaN adds to a side with inverse scale inv: the most a
// side can add, or 0 when the side is not extrapolated.
func extended(inv float64) float64 {
	if inv > 0 {
		return maxTailX
	}
	return 0
}

// Score implements Detector: ECOD.Score's sums, the first steps of the
// counts taken as it takes them, with the tails of each value outside its
// feature's range extended by beyond.
func (x *ECODX) Score(v []float64) float64 {
	e := &x.e
	mustLen(v, e.d)
	var l, r, auto float64
	var ks [firstBatch]int
	for lo := 0; lo < len(v); lo += firstBatch {
		vs, fs := v[lo:min(lo+firstBatch, len(v))], e.feat[lo:]
		firsts(vs, fs, ks[:len(vs)])
		for j, w := range vs {
			t := fs[j].tailsFrom(w, ks[j])
			lr := [2]float64{t[0], t[1]}
			if k := lo + j; !(w >= x.lo[k] && w <= x.hi[k]) {
				bl, br := x.beyond(k, w)
				lr[0] += bl
				lr[1] += br
			}
			l += lr[0]
			r += lr[1]
			auto += lr[e.odd[lo+j]&1]
		}
	}
	return max(l, r, auto)
}

// Explain implements Detector; Deviation.Score is -log of the smaller
// tail probability of the feature, extrapolated beyond the range.
func (x *ECODX) Explain(v []float64) []Deviation {
	e := &x.e
	mustLen(v, e.d)
	return e.p.explain(v, func(j int, w float64) float64 {
		if w == e.p.median[j] {
			return 0
		}
		tl, tr := e.feat[j].tails(w)
		bl, br := x.beyond(j, w)
		return max(tl+bl, tr+br)
	})
}

// ScoreBatch implements BatchScorer. A row with every value inside its
// feature's baseline range scores as ECOD scores it, so ECOD's batch
// (eight rows at a time where vectors allow) scores every row, and the
// rows with a value outside, which are few in a normal fleet, are scored
// again by Score.
func (x *ECODX) ScoreBatch(X [][]float64, out []float64) {
	out = out[:len(X)]
	x.e.ScoreBatch(X, out)
	if !x.extrapolated {
		return
	}
	for i, v := range X {
		if x.outside(v) {
			out[i] = x.Score(v)
		}
	}
}

// outside reports whether a value of v lies outside its feature's
// baseline range, or is NaN.
func (x *ECODX) outside(v []float64) bool {
	lo, hi := x.lo[:len(v)], x.hi[:len(v)]
	for j, w := range v {
		if !(w >= lo[j] && w <= hi[j]) {
			return true
		}
	}
	return false
}
