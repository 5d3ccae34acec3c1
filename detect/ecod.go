package detect

import "math"

// ECOD is the empirical-cumulative-distribution outlier detector (Li et al.,
// 2022). Each feature's baseline is its empirical distribution; a value's
// left and right tail probabilities are read from it, with one
// pseudo-count so that values beyond the baseline get 1/(n+1) and not 0. A
// row scores the largest of three sums over features of -log tail
// probability: all left tails, all right tails, and each feature's tail on
// the side of its baseline's skew.
//
// The tails are tabulated at Fit for every distinct baseline value and
// every gap between two, so that Score is two short branch-free binary
// searches per feature (one over every 16th value, one within that block)
// and no logarithm.
type ECOD struct {
	cfg Config
	p   profile
	d   int
	// Per feature j, its distinct values are uniq[off[j]:off[j+1]]. For the
	// k-th of them, at[2k] and at[2k+1] are -log of the left and right tail
	// probabilities of that value; gap[2k], gap[2k+1] the same for a value
	// below it and above the one before (k = count of distinct values
	// means above all).
	off   []int
	uniq  []float64
	foff  []int     // per feature j, its fences are fence[foff[j]:foff[j+1]]
	fence []float64 // every block-th distinct value, to find a value's block
	at    []float64
	gap   []float64
	right []bool // the baseline is skewed right: the right tail is the odd one
}

var _ Detector = (*ECOD)(nil)

// NewECOD returns an unfitted ECOD detector.
func NewECOD(c Config) *ECOD { return &ECOD{cfg: c} }

// Fit implements Detector.
func (e *ECOD) Fit(X [][]float64) error {
	d, err := check("detect.ECOD.Fit", X, e.cfg.Names)
	if err != nil {
		return err
	}
	e.p, e.d = fitProfile(X, e.cfg.Names), d
	e.off, e.right = make([]int, d+1), make([]bool, d)
	e.uniq, e.at, e.gap, e.fence = e.uniq[:0], e.at[:0], e.gap[:0], e.fence[:0]
	e.foff = make([]int, d+1)
	n := len(X)
	tail := func(count int) float64 { return math.Log(float64(n+1)) - math.Log(float64(count+1)) }
	for j := range d {
		col := column(X, j)
		e.right[j] = skewness(col) >= 0
		e.off[j] = len(e.uniq)
		for i := 0; i < n; {
			k := i
			for k < n && col[k] == col[i] {
				k++
			}
			// col[i:k] are equal: i values below, n-k above.
			e.uniq = append(e.uniq, col[i])
			e.at = append(e.at, tail(k), tail(n-i))
			e.gap = append(e.gap, tail(i), tail(n-i))
			i = k
		}
		e.gap = append(e.gap, tail(n), tail(0)) // above every value
		e.off[j+1] = len(e.uniq)
		e.foff[j] = len(e.fence)
		for k := e.off[j]; k < e.off[j+1]; k += block {
			e.fence = append(e.fence, e.uniq[k])
		}
		e.foff[j+1] = len(e.fence)
	}
	return nil
}

// skewness returns the sample skewness of xs.
func skewness(xs []float64) float64 {
	n := float64(len(xs))
	mean := 0.0
	for _, v := range xs {
		mean += v
	}
	mean /= n
	var m2, m3 float64
	for _, v := range xs {
		d := v - mean
		m2 += d * d
		m3 += d * d * d
	}
	m2, m3 = m2/n, m3/n
	if m2 == 0 {
		return 0
	}
	return m3 / math.Pow(m2, 1.5)
}

// tails returns -log of the left and right tail probabilities of value v
// of feature j: P(X <= v) and P(X >= v), each as (count+1)/(n+1).
func (e *ECOD) tails(j int, v float64) (left, right float64) {
	u := e.uniq[e.off[j]:e.off[j+1]]
	k := 0
	if b := countLE(e.fence[e.foff[j]:e.foff[j+1]], v); b > 0 {
		lo := (b - 1) * block
		k = lo + countLE(u[lo:min(lo+block, len(u))], v)
	}
	if k > 0 && u[k-1] == v {
		i := 2 * (e.off[j] + k - 1)
		return e.at[i], e.at[i+1]
	}
	i := 2 * (e.off[j] + j + k) // each feature has one more gap than values
	return e.gap[i], e.gap[i+1]
}

// block is the number of distinct values between two fences: a value is
// placed by a binary search of the fences, then one of its block.
const block = 16

// countLE returns the number of values in sorted s that are at most v. The
// search has no data-dependent branch: for finite values, v-s[m] has its
// sign bit clear exactly when s[m] <= v.
func countLE(s []float64, v float64) int {
	if len(s) == 0 {
		return 0
	}
	base, n := 0, len(s)
	for n > 1 {
		half := n >> 1
		le := 1 - int(math.Float64bits(v-s[base+half])>>63)
		base += half * le
		n -= half
	}
	return base + 1 - int(math.Float64bits(v-s[base])>>63)
}

// Score implements Detector.
func (e *ECOD) Score(x []float64) float64 {
	mustLen(x, e.d)
	var l, r, auto float64
	for j, v := range x {
		tl, tr := e.tails(j, v)
		l += tl
		r += tr
		if e.right[j] {
			auto += tr
		} else {
			auto += tl
		}
	}
	return max(l, r, auto)
}

// Explain implements Detector; Deviation.Score is -log of the smaller tail
// probability of the feature.
func (e *ECOD) Explain(x []float64) []Deviation {
	mustLen(x, e.d)
	return e.p.explain(x, func(j int, v float64) float64 {
		if v == e.p.median[j] {
			return 0
		}
		tl, tr := e.tails(j, v)
		return max(tl, tr)
	})
}
