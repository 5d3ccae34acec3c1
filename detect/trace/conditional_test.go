package trace

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestConditional checks the residual of the training pairs under their
// own fit: ~0 where y is a monotone function of x, centred with unit
// spread where it is noisy, and finite for constant columns.
func TestConditional(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 400
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = rng.Float64()
	}
	of := func(f func(x float64) float64) []float64 {
		y := make([]float64, n)
		for i, x := range xs {
			y[i] = f(x)
		}
		return y
	}
	constant := func(float64) float64 { return 3 }
	for _, tt := range []struct {
		name string
		x, y []float64
		// The bounds of the residuals' median and absolute residuals'
		// largest value, and of their spread (robustLocScale), if set.
		maxMedian, maxAbs, spreadLo, spreadHi float64
	}{
		// Within the bins' range; beyond it the fit is flat (below).
		{"linear: on the fit", xs, of(func(x float64) float64 { return 2*x + 1 }), 1e-9, 1e-9, 0, 0},
		// Curved: the interpolation between the bins' medians misses a
		// little, well under the bins' spread.
		{"monotone: flat", xs, of(math.Exp), 0.05, 0.25, 0, 0},
		{"noisy: standardised", xs, of(func(x float64) float64 { return 5*x + rng.NormFloat64()*(0.1+x) }), 0.15, 0, 0.7, 1.3},
		{"constant y", xs, of(constant), 0, 0, 0, 0},
		{"constant x", of(constant), of(func(float64) float64 { return rng.Float64() }), 0.01, 0, 0.7, 1.3},
		{"both constant", of(constant), of(constant), 0, 0, 0, 0},
		{"one pair", []float64{1}, []float64{2}, 0, 0, 0, 0},
	} {
		c := fitConditional(tt.x, tt.y)
		if !slices.IsSorted(c.xs) {
			t.Errorf("%s: bins' x not sorted: %v", tt.name, c.xs)
		}
		if !slices.IsSorted(c.mid) {
			t.Errorf("%s: fit not monotone: %v", tt.name, c.mid)
		}
		r := make([]float64, len(tt.x))
		worst := 0.0
		for i := range r {
			r[i] = c.residual(tt.x[i], tt.y[i])
			if math.IsNaN(r[i]) || math.IsInf(r[i], 0) {
				t.Fatalf("%s: residual of (%v, %v) is %v", tt.name, tt.x[i], tt.y[i], r[i])
			}
			if tt.x[i] >= c.xs[0] && tt.x[i] <= c.xs[len(c.xs)-1] {
				worst = max(worst, math.Abs(r[i]))
			}
		}
		med, spread := robustLocScale(slices.Clone(r))
		if math.Abs(med) > tt.maxMedian {
			t.Errorf("%s: median residual %v, want at most %v", tt.name, med, tt.maxMedian)
		}
		if tt.maxAbs > 0 && worst > tt.maxAbs || tt.maxAbs == 0 && tt.spreadHi == 0 && tt.maxMedian == 0 && worst != 0 {
			t.Errorf("%s: largest residual %v, want at most %v", tt.name, worst, tt.maxAbs)
		}
		if tt.spreadHi > 0 && !(spread >= tt.spreadLo && spread <= tt.spreadHi) {
			t.Errorf("%s: residuals' spread %v, want %v to %v", tt.name, spread, tt.spreadLo, tt.spreadHi)
		}
	}
}

// TestConditionalDecreasing checks that y falling with x gets one level,
// the monotone fit's best, so that its residual falls with x: the fit
// never expects a trace less like the training traces to be more
// familiar.
func TestConditionalDecreasing(t *testing.T) {
	x, y := make([]float64, 100), make([]float64, 100)
	for i := range x {
		x[i], y[i] = float64(i), -float64(i)
	}
	c := fitConditional(x, y)
	if len(c.xs) != 10 || c.mid[0] != c.mid[9] || math.Abs(c.mid[0]+49.5) > 1 {
		t.Errorf("%d bins, fit %v", len(c.xs), c.mid)
	}
	if !(c.residual(10, -10) > c.residual(90, -90)) {
		t.Errorf("residual does not fall with x")
	}
}

// TestConditionalAt checks the interpolation: linear between the bins,
// flat beyond them, higher for a higher y at the same x, and finite
// for a value off any scale.
func TestConditionalAt(t *testing.T) {
	c := conditional{xs: []float64{0, 1, 3}, mid: []float64{1, 2, 2}, spread: []float64{1, 3, 1}}
	for _, tt := range []struct{ x, mid, spread float64 }{
		{-5, 1, 1}, {0, 1, 1}, {0.5, 1.5, 2}, {1, 2, 3}, {2, 2, 2}, {3, 2, 1}, {1e300, 2, 1}, {math.NaN(), 1, 1},
	} {
		if m, s := c.at(tt.x); m != tt.mid || s != tt.spread {
			t.Errorf("at(%v) = %v, %v; want %v, %v", tt.x, m, s, tt.mid, tt.spread)
		}
	}
	if a, b := c.residual(0.5, 2), c.residual(0.5, 3); !(b > a) || a != 0.25 {
		t.Errorf("residuals %v, %v", a, b)
	}
}

// TestIsotonic checks pool adjacent violators against fits made by hand.
func TestIsotonic(t *testing.T) {
	for _, tt := range []struct{ v, w, want []float64 }{
		{[]float64{1, 2, 3}, []float64{1, 1, 1}, []float64{1, 2, 3}},
		{[]float64{3, 1}, []float64{1, 1}, []float64{2, 2}},
		{[]float64{3, 1}, []float64{3, 1}, []float64{2.5, 2.5}},
		{[]float64{1, 4, 2, 3, 0}, []float64{1, 1, 1, 1, 1}, []float64{1, 2.25, 2.25, 2.25, 2.25}},
	} {
		v := slices.Clone(tt.v)
		isotonic(v, tt.w)
		if !slices.Equal(v, tt.want) {
			t.Errorf("isotonic(%v, %v) = %v, want %v", tt.v, tt.w, v, tt.want)
		}
	}
}

// TestSequenceConditional checks seq.cnll end to end: the training traces'
// cross-fitted residuals are centred, and a trace of known calls in a new
// order is far above them, with or without seq.calls among the features.
func TestSequenceConditional(t *testing.T) {
	var train [][]int32
	for i := range 40 {
		// Programs of different call sets, runs of different lengths.
		p := int32(i % 4 * 10)
		train = append(train, loop([]int32{p + 1, p + 2, p + 3, p + 4, p + 5 + int32(i%3)}, 5+i%7))
	}
	reordered := loop([]int32{5, 4, 3, 2, 1}, 8)
	for _, ms := range [][]Model{{CondNLL, Calls}, {CondNLL}} {
		sq := NewSequence(SequenceConfig{Order: 3, Models: ms})
		X, err := sq.Fit(train)
		if err != nil {
			t.Fatal(err)
		}
		col := make([]float64, len(X))
		for i, x := range X {
			col[i] = x[0]
		}
		slices.Sort(col)
		if f := sq.Features(reordered, nil); len(f) != len(ms) || !(f[0] > col[len(col)-1]) {
			t.Errorf("%v: reordered trace %v, training residuals up to %v", ms, f, col[len(col)-1])
		}
		if f := sq.Features(train[0], nil); len(f) != len(ms) || f[0] != sq.floor[0] {
			t.Errorf("%v: a training trace has %v, floor %v", ms, f, sq.floor)
		}
	}
}
