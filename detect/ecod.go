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
// every gap between two (see ecdf), so that Score reads them from a table
// and takes no logarithm.
type ECOD struct {
	cfg  Config
	p    profile
	d    int
	feat []ecdf
	odd  []int // the tail on the side of the baseline's skew: 0 left, 1 right
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
	e.feat, e.odd = make([]ecdf, d), make([]int, d)
	for j := range d {
		col := column(X, j)
		if skewness(col) >= 0 {
			e.odd[j] = 1
		}
		e.feat[j] = fitECDF(col)
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

// Score implements Detector. It takes the first step of the count of
// every feature before it goes on with any (see ecdf.first), firstBatch
// features at a time, and adds the tails in the order of the features,
// as it always has.
func (e *ECOD) Score(x []float64) float64 {
	mustLen(x, e.d)
	var l, r, auto float64
	var ks [firstBatch]int
	for lo := 0; lo < len(x); lo += firstBatch {
		xs, fs := x[lo:min(lo+firstBatch, len(x))], e.feat[lo:]
		firsts(xs, fs, ks[:len(xs)])
		odd := e.odd[lo:]
		for j, v := range xs {
			t := fs[j].tailsFrom(v, ks[j])
			l += t[0]
			r += t[1]
			auto += t[odd[j]&1] // no branch on the side, which varies by feature
		}
	}
	return max(l, r, auto)
}

// firsts sets ks[j] to fs[j].first(xs[j]). Apart from Score, its loop
// keeps every variable in a register: inside, the compiler spilled three
// of them and reloaded them from the stack at each feature.
//
//go:noinline
func firsts(xs []float64, fs []ecdf, ks []int) {
	fs, ks = fs[:len(xs)], ks[:len(xs)]
	for j, v := range xs {
		ks[j] = fs[j].first(v)
	}
}

// firstBatch is the number of features whose first steps ECOD.Score takes
// at once, on the stack: more than any dataset imgward has met has.
const firstBatch = 64

// Explain implements Detector; Deviation.Score is -log of the smaller tail
// probability of the feature.
func (e *ECOD) Explain(x []float64) []Deviation {
	mustLen(x, e.d)
	return e.p.explain(x, func(j int, v float64) float64 {
		if v == e.p.median[j] {
			return 0
		}
		tl, tr := e.feat[j].tails(v)
		return max(tl, tr)
	})
}

// ScoreBatch implements BatchScorer. Where the processor has AVX-512
// (vectors), it scores eight rows at a time, one to a lane, with ecod8,
// whose sums are Score's, bit for bit; elsewhere, and for the rows left
// over, row by row.
func (e *ECOD) ScoreBatch(X [][]float64, out []float64) {
	out = out[:len(X)]
	i := 0
	if vectors && e.d > 0 {
		var buf [8 * 64]float64 // on the stack for up to 64 features
		cols := buf[:]
		if 8*e.d > len(buf) {
			cols = make([]float64, 8*e.d)
		}
		var sums [3][8]float64
		var steps [64][2][8]uint64
		firsts := steps[:]
		if e.d > len(steps) {
			firsts = make([][2][8]uint64, e.d)
		}
		for ; i+8 <= len(X); i += 8 {
			transpose8(cols, X[i:i+8], e.d)
			ecod8(&cols[0], e.d, &e.feat[0], &e.odd[0], &sums, &firsts[0])
			for l := range sums[0] {
				out[i+l] = max(sums[0][l], sums[1][l], sums[2][l])
			}
		}
	}
	for ; i < len(X); i++ {
		out[i] = e.Score(X[i])
	}
}
