package detect

import (
	"math"
	"testing"
)

// TestECODXEqualsECODInside checks that inside every feature's baseline
// range ECODX scores and explains as ECOD does, bit for bit, by Score and
// ScoreBatch.
func TestECODXEqualsECODInside(t *testing.T) {
	X := awkward(8, 500, 9)
	e, x := fitted(t, "ecod", Config{}, X), fitted(t, "ecodx", Config{}, X).(*ECODX)
	Q := append(awkward(9, 200, 9), X[:40]...)
	var inside [][]float64
	for _, q := range Q {
		if !x.outside(q) {
			inside = append(inside, q)
		}
	}
	if len(inside) < 100 {
		t.Fatalf("only %d rows inside the range", len(inside))
	}
	if scoreDigest(e, inside) != scoreDigest(x, inside) {
		t.Error("ECODX scores rows inside the range unlike ECOD")
	}
	for i, q := range inside {
		a, b := e.Explain(q), x.Explain(q)
		if len(a) != len(b) {
			t.Fatalf("row %d: explanations of %d and %d features", i, len(a), len(b))
		}
		for k := range a {
			if a[k] != b[k] {
				t.Fatalf("row %d: ECOD explains %+v, ECODX %+v", i, a[k], b[k])
			}
		}
	}
}

// TestECODXTail checks the extrapolated tail of one feature: continuous
// with ECOD just beyond the range, growing at the rate 1/β fitted to the k
// largest excesses, increasing with the distance, and the score Explain
// gives the feature.
func TestECODXTail(t *testing.T) {
	X := gaussian(12, 400, 1)
	e, x := fitted(t, "ecod", Config{}, X), fitted(t, "ecodx", Config{}, X).(*ECODX)
	col := column(X, 0)
	n, k := len(col), tailK(len(col))
	if k != 20 {
		t.Fatalf("k = %d for n = %d, want 20", k, n)
	}
	beta := 0.0
	for _, v := range col[n-k:] {
		beta += (v - col[n-k-1]) / float64(k)
	}
	top := col[n-1]
	just := math.Nextafter(top, math.Inf(1))
	if a, b := e.Score([]float64{just}), x.Score([]float64{just}); math.Abs(a-b) > 1e-12 {
		t.Errorf("just beyond the largest value: ECOD %v, ECODX %v", a, b)
	}
	prev := x.Score([]float64{top})
	for d := 0.01; d < 50; d *= 1.5 {
		s := x.Score([]float64{top + d})
		if want := math.Log(float64(n+1)) + d/beta; math.Abs(s-want) > 1e-9*want {
			t.Errorf("at %v beyond the largest: score %v, want %v", d, s, want)
		}
		if s <= prev {
			t.Errorf("at %v beyond the largest: score %v after %v", d, s, prev)
		}
		if exp := x.Explain([]float64{top + d}); len(exp) != 1 || exp[0].Score != s {
			t.Errorf("at %v beyond the largest: explanation %+v, score %v", d, exp, s)
		}
		prev = s
	}
	// The left side likewise.
	bottom := col[0]
	if a, b := x.Score([]float64{bottom - 1}), x.Score([]float64{bottom - 2}); !(b > a && a > e.Score([]float64{bottom - 1})) {
		t.Errorf("below the smallest value: %v at 1, %v at 2, ECOD's %v", a, b, e.Score([]float64{bottom - 1}))
	}
}

// TestECODXDegenerate checks that a constant column and a column whose
// top values are equal are not extrapolated, and that every score stays
// finite, whatever the value.
func TestECODXDegenerate(t *testing.T) {
	var X [][]float64
	for i := range 50 {
		top := float64(i % 20)
		if i%20 >= 8 {
			top = 8 // the 12 largest values of this column are equal
		}
		X = append(X, []float64{3, top})
	}
	e, x := fitted(t, "ecod", Config{}, X), fitted(t, "ecodx", Config{}, X).(*ECODX)
	if x.invL[0] != 0 || x.invR[0] != 0 || x.invR[1] != 0 || x.invL[1] == 0 {
		t.Errorf("inverse scales: left %v, right %v", x.invL, x.invR)
	}
	for _, v := range []float64{4, 1e300, math.Inf(1), math.Inf(-1), math.NaN()} {
		for _, row := range [][]float64{{v, 5}, {3, v}} {
			s, base := x.Score(row), e.Score(row)
			if math.IsNaN(s) || math.IsInf(s, 0) || s < base {
				t.Errorf("row %v: score %v, ECOD's %v", row, s, base)
			}
		}
	}
	if a, b := x.Score([]float64{3, 9}), x.Score([]float64{3, 1e6}); a != b || a != e.Score([]float64{3, 9}) {
		t.Errorf("beyond equal top values: %v and %v, want ECOD's %v", a, b, e.Score([]float64{3, 9}))
	}
	if s := x.Score([]float64{3, -1e300}); s != 2*maxTailX && s <= x.Score([]float64{3, -1}) {
		t.Errorf("far below: %v", s)
	}
}
