package detect

import (
	"math"
	"sync"

	"imgward/errors"
	"imgward/internal/vec"
)

// Copula scores the features jointly: each value becomes a normal score,
// the standard normal quantile with the value's smaller tail probability
// among the feature's baseline values as ECOD counts it (tailProbit; a
// Gaussian copula), with ECODX's extrapolated tails beyond the baseline's
// range, and a row scores the squared Mahalanobis distance of its normal
// scores from the baseline's centre, where every normal score is 0. ECOD
// and ECODX add the features' tails as if the features were independent;
// when two features rise together in normal rows (a trace of a program the
// baseline lacks is far on both its unseen n-grams and its nearest trace
// by calls), the Mahalanobis distance scores a row far on one and near on
// the other (an attack inside a known program) as far as one far on both,
// where a sum of tails would rank it below.
//
// The covariance of the baseline's normal scores (their second moments
// about 0) is shrunk a tenth toward its diagonal, and each variance is at
// least minCopulaVar, so that it is invertible whatever the rows (a
// constant column, two equal columns) and a constant column's change
// scores large but finite.
type Copula struct {
	x ECODX
	// chol is the inverse of the Cholesky factor of the covariance, lower
	// triangular, row by row: the whitened row is chol·z.
	chol []float64
	sd   []float64 // each feature's standard deviation, for Explain
	// zs holds, per feature, the normal score of each (left, right) pair
	// of its ecdf.tail, in the same order, so that Score looks a value's
	// normal score up as ECOD does its tails.
	zs   [][]float64
	pool sync.Pool // *[]float64 of d normal scores, when d > copulaStack
}

var _ Detector = (*Copula)(nil)

// NewCopula returns an unfitted Copula detector.
func NewCopula(c Config) *Copula { return &Copula{x: ECODX{e: ECOD{cfg: c}}} }

const (
	copulaShrink = 0.1
	minCopulaVar = 0.1
	copulaStack  = 64 // features whose normal scores Score keeps on the stack
)

// Fit implements Detector.
func (c *Copula) Fit(X [][]float64) error {
	if err := c.x.Fit(X); err != nil {
		return errors.E("detect.Copula.Fit", err)
	}
	d, n := c.x.e.d, float64(len(X))
	c.zs = make([][]float64, d)
	for j, f := range c.x.e.feat {
		c.zs[j] = make([]float64, len(f.tail)/2)
		for p := range c.zs[j] {
			c.zs[j][p] = tailProbit(f.tail[2*p], f.tail[2*p+1])
		}
	}
	cov, z := make([]float64, d*d), make([]float64, d)
	for _, row := range X {
		c.normal(row, z)
		for a := range d {
			for b := 0; b <= a; b++ {
				cov[a*d+b] += z[a] * z[b] / n
			}
		}
	}
	c.sd = make([]float64, d)
	for a := range d {
		cov[a*d+a] = max(cov[a*d+a], minCopulaVar)
		c.sd[a] = math.Sqrt(cov[a*d+a])
		for b := range a {
			cov[a*d+b] *= 1 - copulaShrink
		}
	}
	c.chol = invCholesky(cov, d)
	c.pool.New = func() any { s := make([]float64, d); return &s }
	return nil
}

// invCholesky returns the inverse of the lower Cholesky factor of the
// symmetric positive definite d×d matrix whose lower triangle a holds.
func invCholesky(a []float64, d int) []float64 {
	l := make([]float64, d*d)
	for i := range d {
		for j := 0; j <= i; j++ {
			s := a[i*d+j]
			for k := range j {
				s -= float64(l[i*d+k] * l[j*d+k]) // rounded: the same bits where a multiply and an add fuse
			}
			if i == j {
				l[i*d+i] = math.Sqrt(s)
			} else {
				l[i*d+j] = s / l[j*d+j]
			}
		}
	}
	inv := make([]float64, d*d) // solve l·inv = I, column by column
	for c := range d {
		for i := c; i < d; i++ {
			s := 0.0
			if i == c {
				s = 1
			}
			for k := c; k < i; k++ {
				s -= float64(l[i*d+k] * inv[k*d+c])
			}
			inv[i*d+c] = s / l[i*d+i]
		}
	}
	return inv
}

// normal writes the normal scores of row x to z: inside a feature's
// range, from the table; beyond, of the extrapolated tails. NaN, beyond
// both sides, has the normal score of the farthest extrapolated value.
func (c *Copula) normal(x, z []float64) {
	x = x[:len(z)]
	var ks [firstBatch]int
	for lo := 0; lo < len(x); lo += firstBatch {
		// The first steps of every feature's count before any scan, as
		// ECOD.Score takes them.
		xs, fs := x[lo:min(lo+firstBatch, len(x))], c.x.e.feat[lo:]
		firsts(xs, fs, ks[:len(xs)])
		for j, v := range xs {
			f := &fs[j]
			t := f.tailsFrom(v, ks[j])
			if k := lo + j; v >= c.x.lo[k] && v <= c.x.hi[k] {
				z[k] = c.zs[k][(cap(f.tail)-cap(t))/2] // t is f.tail[p:p+2], of capacity cap(f.tail)-p
				continue
			}
			z[lo+j] = c.beyond(lo+j, v, t)
		}
	}
}

// beyond returns the normal score of a value v of feature j outside its
// range, whose ECOD tails are t.
func (c *Copula) beyond(j int, v float64, t []float64) float64 {
	if v != v {
		return nanProbit
	}
	bl, br := c.x.beyond(j, v)
	return tailProbit(t[0]+bl, t[1]+br)
}

// Score implements Detector.
func (c *Copula) Score(x []float64) float64 {
	d := c.x.e.d
	mustLen(x, d)
	var buf [copulaStack]float64
	z := buf[:]
	if d > copulaStack {
		p := c.pool.Get().(*[]float64)
		defer c.pool.Put(p)
		z = *p
	}
	z = z[:d]
	c.normal(x, z)
	s := 0.0
	for i := range d {
		s += sq(vec.Dot(c.chol[i*d:i*d+i+1], z[:i+1]))
	}
	return s
}

// sq returns x², rounded before the caller adds it (the conversion), so
// that a build that may fuse a multiply and an add gives the same bits.
func sq(x float64) float64 { return float64(x * x) }

// Explain implements Detector; Deviation.Score is the square of the
// feature's normal score in standard deviations of the baseline's, its
// part of the score were the features independent.
func (c *Copula) Explain(x []float64) []Deviation {
	mustLen(x, c.x.e.d)
	p := &c.x.e.p
	return p.explain(x, func(j int, v float64) float64 {
		if v == p.median[j] {
			return 0
		}
		tl, tr := c.x.e.feat[j].tails(v)
		bl, br := c.x.beyond(j, v)
		z := tailProbit(tl+bl, tr+br) / c.sd[j]
		return z * z
	})
}

// tailProbit returns the normal score of a value whose left and right
// tail probabilities are e^-tl and e^-tr, as ECOD counts them (ties in
// both, one pseudo-count): the normal quantile with the smaller of the two
// tail probabilities, 0 where neither is below one half. A baseline's
// central values (its median, or the floor at the median of a feature that
// signals only by being high) all score 0, as ECOD scores them all alike;
// beyond the range the extrapolated tail is taken from its logarithm, so
// that it keeps growing far below the smallest float.
func tailProbit(tl, tr float64) float64 {
	switch {
	case tl > tr && tl > math.Ln2:
		return -upperProbit(tl)
	case tr > math.Ln2:
		return upperProbit(tr)
	}
	return 0
}

// upperProbit returns z with P(Z > z) = e^-s for a standard normal Z: by
// the inverse error function while e^-s is representable with precision
// beside 1, and beyond by the asymptotic expansion of the normal tail
// (Mills' ratio), shifted to meet the first at probitSwitch, so that it
// is continuous and increasing in s.
func upperProbit(s float64) float64 {
	if s <= probitSwitch {
		return erfProbit(s)
	}
	return millsProbit(s) + probitShift
}

// nanProbit is the normal score of NaN: that of the farthest value.
var nanProbit = upperProbit(maxTailX)

// erfProbit is upperProbit by the inverse error function (erfinv). The
// product is rounded before 1 less it (the conversion), so that a build
// that may fuse a multiply and an add gives the same bits.
func erfProbit(s float64) float64 { return math.Sqrt2 * erfinv(1-float64(2*math.Exp(-s))) }

// probitSwitch is where upperProbit changes method (p = 1.5e-8).
const probitSwitch = 18

// probitShift joins the two methods of upperProbit at probitSwitch.
var probitShift = erfProbit(probitSwitch) - millsProbit(probitSwitch)

// millsProbit solves -log P(Z > z) = s for large s by fixed-point
// iteration on P(Z > z) ≈ φ(z)/z·(1 - 1/z² + 3/z⁴), which converges fast
// for z above 5 (s above 15).
func millsProbit(s float64) float64 {
	const halfLog2Pi = 0.9189385332046727
	z := math.Sqrt(2 * s)
	for range 5 {
		z2 := z * z
		z = math.Sqrt(2 * (s - halfLog2Pi - math.Log(z) + math.Log(1-1/z2+3/(z2*z2)))) // Log, not the Go code of Log1p: the same bits in every build
	}
	return z
}
