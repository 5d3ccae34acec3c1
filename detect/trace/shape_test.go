package trace

import (
	"math"
	"testing"
)

// TestShapeProperties checks each property of a trace's shape against
// values worked out by hand.
func TestShapeProperties(t *testing.T) {
	tests := []struct {
		name     string
		seq      []int32
		phrases  int
		entropy  float64
		periodic int
		grams    float64 // distinct 3-grams per 3-gram
	}{
		{"empty", nil, 0, 0, 0, 0},
		// LZ78: 1 | 1 1 | 1 1 1 | 1 (unfinished) = 4 phrases
		{"one call repeated", loop([]int32{1}, 7), 4, 0, 7, 1.0 / 5},
		// 1 | 2 | 1 2 | 1 2 1 | 2 1 | 2 (unfinished): 6; 1→2 and 2→1 always
		{"a loop of two", loop([]int32{1, 2}, 5), 6, 0, 10, 2.0 / 8},
		// 1 | 2 | 1 3; pairs 1→2, 2→1, 1→3: after a 1 (2 of 3 pairs) 2 or
		// 3 (ln 2), after a 2 always 1
		{"a branch", []int32{1, 2, 1, 3}, 3, 2.0 / 3 * math.Log(2), 3, 1},
	}
	for _, tt := range tests {
		if got := lz78Phrases(tt.seq); got != tt.phrases {
			t.Errorf("%s: %d LZ78 phrases, want %d", tt.name, got, tt.phrases)
		}
		if got := transitionEntropy(tt.seq); math.Abs(got-tt.entropy) > 1e-12 {
			t.Errorf("%s: transition entropy %v, want %v", tt.name, got, tt.entropy)
		}
		if got := longestPeriodic(tt.seq, 8); got != tt.periodic {
			t.Errorf("%s: longest periodic stretch %d, want %d", tt.name, got, tt.periodic)
		}
		p := shapeOf(tt.seq)
		if want := math.Log1p(float64(len(tt.seq))); p[0] != want {
			t.Errorf("%s: log length %v, want %v", tt.name, p[0], want)
		}
		if len(tt.seq) > 0 && math.Abs(p[1]-tt.grams) > 1e-12 {
			t.Errorf("%s: distinct 3-grams per 3-gram %v, want %v", tt.name, p[1], tt.grams)
		}
	}
}

// TestShapeModels checks that the models of a trace as a whole find a
// training trace ordinary (0), and a run of a known program more novel than
// a new ordinary run (a walk of the second program with another seed) when
// it is far longer than the program's runs (length, shape) or loops where
// no run of it does (loops, shape; the long run too loops more than any).
func TestShapeModels(t *testing.T) {
	walk := func(seed uint32, n int) []int32 {
		var w []int32
		for range n {
			seed = seed*1664525 + 1013904223
			w = append(w, int32(4+(seed>>16)%6))
		}
		return w
	}
	var train [][]int32
	for i := range 40 {
		// two programs with runs of 30–69 calls: one loops 1 2 3, the
		// other walks 4..9 at random
		train = append(train, loop([]int32{1, 2, 3}, 10+i), walk(uint32(i+1), 30+i))
	}
	long := loop([]int32{1, 2, 3}, 400)
	looping := loop([]int32{4, 5, 6, 7, 8, 9}, 8)
	for _, tt := range []struct {
		model         Model
		long, looping bool // whether each is more novel than a new walk
	}{
		{Length, true, false},
		{Shape, true, true},
		{Loops, true, true}, // 400 turns of a loop repeat more than 10–49
	} {
		m := newShape(shapeModels[tt.model])
		m.train(train, 0)
		out := make([]float64, 4)
		m.scores([][]int32{train[7], walk(1000, 50), long, looping}, out)
		known, fresh, lg, lp := out[0], out[1], out[2], out[3]
		if known != 0 || (lg > fresh) != tt.long || (lp > fresh) != tt.looping {
			t.Errorf("%s: known %.3f, new walk %.3f, long %.3f, looping %.3f", tt.model, known, fresh, lg, lp)
		}
	}
}
