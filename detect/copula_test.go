package detect

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestUpperProbit checks the normal scores against known quantiles of the
// standard normal, and that they are continuous and increasing where the
// method changes and far beyond.
func TestUpperProbit(t *testing.T) {
	for _, tc := range []struct{ p, z float64 }{
		{0.5, 0}, {0.025, 1.959963984540054}, {1e-5, 4.264890793922825},
		{1e-10, 6.361340902404056}, {1e-20, 9.262340089798408}, {1e-100, 21.27345839609717},
	} {
		if got := upperProbit(-math.Log(tc.p)); math.Abs(got-tc.z) > 2e-4*max(1, tc.z) {
			t.Errorf("P(Z > z) = %g: z = %v, want %v", tc.p, got, tc.z)
		}
	}
	if a, b := upperProbit(probitSwitch), upperProbit(math.Nextafter(probitSwitch, 100)); math.Abs(a-b) > 1e-9 {
		t.Errorf("at the switch: %v, then %v", a, b)
	}
	prev := upperProbit(math.Ln2)
	for s := math.Ln2 * 1.01; s < 2*maxTailX; s *= 1.01 {
		z := upperProbit(s)
		if !(z > prev) || math.IsInf(z, 0) {
			t.Fatalf("s = %v: z = %v after %v", s, z, prev)
		}
		prev = z
	}
}

// TestCopulaJoint checks what the joint score is for: with two features
// that rise together in the baseline, a row far on one and typical on the
// other scores above a row as far on both, where ECOD, which adds the
// features' tails, ranks them the other way.
func TestCopulaJoint(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 1))
	var X [][]float64
	for range 1000 {
		a := rng.NormFloat64()
		X = append(X, []float64{a, 0.9*a + math.Sqrt(1-0.81)*rng.NormFloat64()})
	}
	both, one := []float64{2.5, 2.5}, []float64{2.5, 0}
	c, e := fitted(t, "copula", Config{}, X), fitted(t, "ecod", Config{}, X)
	if !(c.Score(one) > 2*c.Score(both)) {
		t.Errorf("copula: far on one %v, on both %v", c.Score(one), c.Score(both))
	}
	if !(e.Score(both) > e.Score(one)) {
		t.Errorf("ecod: far on both %v, on one %v", e.Score(both), e.Score(one))
	}
	// Beyond the range the score keeps growing, until the tails reach
	// maxTailX.
	prev := c.Score([]float64{5, 5})
	for _, v := range []float64{6, 10, 100, 1e6, 1e300, math.Inf(1)} {
		s := c.Score([]float64{v, v})
		if !(s > prev || v > 100 && s == prev) || math.IsInf(s, 0) {
			t.Errorf("at %v on both: %v after %v", v, s, prev)
		}
		prev = s
	}
}

// TestCopulaManyFeatures checks a row of more features than Score keeps on
// the stack: the same scores by Score and ScoreBatch, and no allocation.
func TestCopulaManyFeatures(t *testing.T) {
	X := awkward(5, 300, copulaStack+6)
	c := fitted(t, "copula", Config{}, X)
	Q := queries(6, X)
	out := make([]float64, len(Q))
	ScoreBatch(c, Q, out)
	for i, q := range Q {
		if s := c.Score(q); s != out[i] || math.IsNaN(s) || math.IsInf(s, 0) {
			t.Fatalf("row %d: Score %v, ScoreBatch %v", i, s, out[i])
		}
	}
	if n := testing.AllocsPerRun(100, func() { c.Score(Q[0]) }); n != 0 {
		t.Errorf("Score allocates %v times", n)
	}
}

// TestCopulaTable checks that the normal scores Score looks up inside the
// range are those of the tails, as computed beyond it.
func TestCopulaTable(t *testing.T) {
	X := awkward(7, 400, 10)
	c := fitted(t, "copula", Config{}, X).(*Copula)
	z := make([]float64, 10)
	for _, q := range queries(8, X) {
		c.normal(q, z)
		for j, v := range q {
			tl, tr := c.x.e.feat[j].tails(v)
			bl, br := c.x.beyond(j, v)
			want := tailProbit(tl+bl, tr+br)
			if v != v {
				want = nanProbit
			}
			if z[j] != want {
				t.Fatalf("feature %d, value %v: normal score %v, want %v", j, v, z[j], want)
			}
		}
	}
}

// TestErfinv checks the copy of math.Erfinv whose products are rounded
// against the original, which it equals but for the last bits.
func TestErfinv(t *testing.T) {
	for x := -0.999999; x < 1; x += 0.0001 {
		for _, v := range []float64{x, 1 - 1e-12, -(1 - 1e-15)} {
			if got, want := erfinv(v), math.Erfinv(v); math.Abs(got-want) > 1e-14*max(1, math.Abs(want)) {
				t.Fatalf("erfinv(%v) = %v, math.Erfinv %v", v, got, want)
			}
		}
	}
}
