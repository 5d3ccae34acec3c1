package detect

import (
	"cmp"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"imgward/errors"
)

// gaussian returns n rows of d independent standard normal features.
func gaussian(seed uint64, n, d int) [][]float64 {
	rng := rand.New(rand.NewPCG(seed, 1))
	X := make([][]float64, n)
	for i := range X {
		X[i] = make([]float64, d)
		for j := range X[i] {
			X[i][j] = rng.NormFloat64()
		}
	}
	return X
}

func fitted(t testing.TB, name string, c Config, X [][]float64) Detector {
	t.Helper()
	d, err := New(name, c)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Fit(X); err != nil {
		t.Fatalf("%s: Fit: %v", name, err)
	}
	return d
}

func TestObviousOutlierRanksFirst(t *testing.T) {
	X := gaussian(1, 500, 5)
	test := gaussian(2, 200, 5)
	outlier := []float64{6, -6, 6, -6, 6}
	for _, name := range Names() {
		d := fitted(t, name, Config{Seed: 7}, X)
		top := d.Score(outlier)
		for i, x := range test {
			if s := d.Score(x); s >= top {
				t.Errorf("%s: inlier %d scores %v >= outlier's %v", name, i, s, top)
				break
			}
		}
	}
}

func TestDeterministic(t *testing.T) {
	X := gaussian(3, 300, 4)
	test := gaussian(4, 50, 4)
	for _, name := range Names() {
		a := fitted(t, name, Config{Seed: 42}, X)
		b := fitted(t, name, Config{Seed: 42}, X)
		for _, x := range test {
			if sa, sb := a.Score(x), b.Score(x); sa != sb {
				t.Fatalf("%s: same seed, scores %v and %v", name, sa, sb)
			}
		}
	}
	a := fitted(t, "iforest", Config{Seed: 1}, X)
	b := fitted(t, "iforest", Config{Seed: 2}, X)
	if a.Score(test[0]) == b.Score(test[0]) {
		t.Errorf("iforest: different seeds gave the same score")
	}
}

func TestExplainNamesTheDeviantFeature(t *testing.T) {
	X := gaussian(5, 400, 3)
	names := []string{"pslist.nproc", "handles.nport", "malfind.ninjections"}
	x := []float64{0.1, -0.2, 12}
	for _, name := range Names() {
		d := fitted(t, name, Config{Names: names}, X)
		exp := d.Explain(x)
		if len(exp) == 0 {
			t.Fatalf("%s: empty explanation", name)
		}
		e := exp[0]
		if e.Feature != "malfind.ninjections" || e.Index != 2 || e.Value != 12 || math.Abs(e.Baseline) > 0.3 {
			t.Errorf("%s: top deviation %+v", name, e)
		}
		if !slices.IsSortedFunc(exp, func(a, b Deviation) int { return cmp.Compare(b.Score, a.Score) }) {
			t.Errorf("%s: explanation not sorted: %+v", name, exp)
		}
	}
}

func TestFitErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		X     [][]float64
		names []string
	}{
		{"empty", nil, nil},
		{"no features", [][]float64{{}}, nil},
		{"ragged", [][]float64{{1, 2}, {3}}, nil},
		{"NaN", [][]float64{{1, math.NaN()}}, nil},
		{"Inf", [][]float64{{math.Inf(1), 1}}, nil},
		{"names", [][]float64{{1, 2}}, []string{"a"}},
	} {
		for _, name := range Names() {
			d, _ := New(name, Config{Names: tc.names})
			if err := d.Fit(tc.X); !errors.Is(errors.Invalid, err) {
				t.Errorf("%s %s: err = %v, want kind Invalid", name, tc.name, err)
			}
		}
	}
	if _, err := New("lof", Config{}); !errors.Is(errors.Invalid, err) {
		t.Errorf("New(lof): err = %v", err)
	}
	e, _ := New("ensemble", Config{Members: []string{"zscore", "ensemble"}})
	if err := e.Fit([][]float64{{1}, {2}}); !errors.Is(errors.Invalid, err) {
		t.Errorf("nested ensemble: err = %v", err)
	}
}

func TestScoreAllocatesNothing(t *testing.T) {
	X := gaussian(6, 300, 8)
	x := gaussian(7, 1, 8)[0]
	for _, name := range Names() {
		d := fitted(t, name, Config{}, X)
		if n := testing.AllocsPerRun(100, func() { d.Score(x) }); n != 0 {
			t.Errorf("%s: Score allocates %v times", name, n)
		}
	}
}

func TestConstantFeatures(t *testing.T) {
	X := [][]float64{{0, 1}, {0, 2}, {0, 3}, {0, 4}}
	for _, name := range Names() {
		if name == "iforest" {
			continue // never splits a constant feature: it cannot see it change
		}
		d := fitted(t, name, Config{}, X)
		normal, odd := d.Score([]float64{0, 2.5}), d.Score([]float64{1, 2.5})
		if !(odd > normal) || math.IsNaN(odd) || math.IsInf(odd, 0) {
			t.Errorf("%s: a change of a constant feature scores %v, normal %v", name, odd, normal)
		}
	}
}

// TestNonFiniteValues checks that NaN and infinities in a row never panic,
// never give a NaN score (NaN > threshold is false) and never score lower
// than the same row with an ordinary value.
func TestNonFiniteValues(t *testing.T) {
	X := gaussian(6, 300, 4)
	for _, name := range Names() {
		d := fitted(t, name, Config{}, X)
		normal := d.Score([]float64{0, 0, 0, 0})
		for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
			x := []float64{0, v, 0, 0}
			s := d.Score(x)
			batch := make([]float64, 1)
			ScoreBatch(d, [][]float64{x}, batch)
			d.Explain(x)
			if math.IsNaN(s) || math.IsNaN(batch[0]) || s < normal || batch[0] < normal {
				t.Errorf("%s: a row with %v scores %v (batch %v), the ordinary row %v", name, v, s, batch[0], normal)
			}
		}
	}
}

func TestScorePanicsOnWrongLength(t *testing.T) {
	d := fitted(t, "zscore", Config{}, [][]float64{{1, 2}})
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	d.Score([]float64{1})
}

func TestScoreBatchMatchesScore(t *testing.T) {
	X := gaussian(10, 400, 6)
	test := gaussian(11, 37, 6) // not a multiple of the lanes
	for _, name := range Names() {
		d := fitted(t, name, Config{Seed: 5}, X)
		out := make([]float64, len(test))
		ScoreBatch(d, test, out)
		for i, x := range test {
			if s := d.Score(x); math.Abs(s-out[i]) > 1e-12*max(1, math.Abs(s)) {
				t.Fatalf("%s: row %d: ScoreBatch %v, Score %v", name, i, out[i], s)
			}
		}
	}
}

// TestRowKeyOrdersAsLessBit checks that ScoreBatch's integer comparison of
// keys takes every step Score's lessBit takes, for the values whose
// differences are odd: zeros of both signs, infinities, NaNs of both signs,
// subnormals and the extremes, against every threshold a tree can hold.
func TestRowKeyOrdersAsLessBit(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("lessBit of NaN differences follows amd64's NaN")
	}
	nan := func(b uint64) float64 { return math.Float64frombits(b) }
	xs := []float64{0, math.Copysign(0, -1), 1, -1, math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64,
		math.MaxFloat64, -math.MaxFloat64, math.Inf(1), math.Inf(-1), math.NaN(),
		nan(0x7ff0000000000001), nan(0x7fffffffffffffff), nan(0xfff8000000000000), nan(0xffffffffffffffff),
		math.Nextafter(1, 2), math.Nextafter(1, 0), 1e-310, -1e-310}
	thrs := []float64{}
	for _, v := range xs {
		if v == v && !math.IsInf(v, -1) { // a threshold is never NaN or -Inf
			thrs = append(thrs, v)
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		v := math.Float64frombits(rng.Uint64())
		xs = append(xs, v, rng.NormFloat64())
		if v == v && !math.IsInf(v, -1) {
			thrs = append(thrs, v)
		}
	}
	for _, x := range xs {
		for _, thr := range thrs {
			want := lessBit(x, thr) == 1
			if got := rowKey(x) < orderKey(thr); got != want {
				t.Fatalf("x %v (%#x), thr %v (%#x): keys say less %v, lessBit %v",
					x, math.Float64bits(x), thr, math.Float64bits(thr), got, want)
			}
		}
	}
}
