package detect

import (
	"math"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*max(1, math.Abs(b)) }

func TestZScoreKnownAnswer(t *testing.T) {
	d := fitted(t, "zscore", Config{}, [][]float64{{1}, {2}, {3}, {4}, {5}})
	// median 3, MAD 1, scale 1.4826
	if got, want := d.Score([]float64{6}), 3/1.4826; !near(got, want) {
		t.Errorf("Score(6) = %v, want %v", got, want)
	}
	// MAD 0, mean absolute deviation 0.4: scale 1.2533*0.4
	d = fitted(t, "zscore", Config{}, [][]float64{{0}, {0}, {0}, {0}, {2}})
	if got, want := d.Score([]float64{1}), 1/(1.2533*0.4); !near(got, want) {
		t.Errorf("Score(1) = %v, want %v", got, want)
	}
}

func TestECODKnownAnswer(t *testing.T) {
	var X [][]float64
	for i := 1; i <= 10; i++ {
		X = append(X, []float64{float64(i)})
	}
	d := fitted(t, "ecod", Config{}, X)
	// Beyond the maximum: right tail (0+1)/(10+1), left tail 1.
	if got, want := d.Score([]float64{11}), math.Log(11); !near(got, want) {
		t.Errorf("Score(11) = %v, want %v", got, want)
	}
	// At 5: left (5+1)/11, right (6+1)/11; symmetric, so auto is right.
	if got, want := d.Score([]float64{5}), math.Log(11.0/6); !near(got, want) {
		t.Errorf("Score(5) = %v, want %v", got, want)
	}
}

func TestHBOSKnownAnswer(t *testing.T) {
	// Values 0..9 once each and 9 four more times, 2 bins: [0,4.5) holds
	// 5, [4.5,9] holds 9.
	X := [][]float64{{9}, {9}, {9}, {9}}
	for i := range 10 {
		X = append(X, []float64{float64(i)})
	}
	d := fitted(t, "hbos", Config{Bins: 2}, X)
	if got, want := d.Score([]float64{1}), math.Log(10)-math.Log(6); !near(got, want) {
		t.Errorf("Score(1) = %v, want %v", got, want)
	}
	if got := d.Score([]float64{8}); got != 0 {
		t.Errorf("Score(8) = %v, want 0", got)
	}
	// 4.5 beyond the maximum, one bin width: empty-bin cost plus log 2.
	if got, want := d.Score([]float64{13.5}), math.Log(10)+math.Log(2); !near(got, want) {
		t.Errorf("Score(13.5) = %v, want %v", got, want)
	}
}

func TestIForestKnownAnswers(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want float64
	}{{1, 0}, {2, 1}, {256, 10.244770920116851}} {
		if got := avgPath(tc.n); !near(got, tc.want) {
			t.Errorf("c(%d) = %v, want %v", tc.n, got, tc.want)
		}
	}
	X := gaussian(9, 1000, 2)
	d := fitted(t, "iforest", Config{Seed: 3}, X)
	if s := d.Score([]float64{0, 0}); s > 0.5 {
		t.Errorf("the centre scores %v, want at most 0.5", s)
	}
	if s := d.Score([]float64{10, -10}); s < 0.65 {
		t.Errorf("a far outlier scores %v, want near 1", s)
	}
}
