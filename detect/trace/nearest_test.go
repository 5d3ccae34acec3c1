package trace

import (
	"math"
	"reflect"
	"testing"

	"imgward/errors"
)

func TestNearest(t *testing.T) {
	train := [][]int32{{1, 2, 3, 1, 2, 3}, {4, 5, 4, 5}, {}}
	tests := []struct {
		name  string
		kind  profileKind
		trace []int32
		want  float64
	}{
		{"repertoire: a training trace", repertoire, []int32{1, 2, 3, 1, 2, 3}, 0},
		{"repertoire: same calls, new order and counts", repertoire, []int32{3, 3, 2, 1}, 0},
		{"repertoire: new calls only", repertoire, []int32{7, 8, 9}, 1},
		// {1,2} against {1,2,3}: 2/sqrt(2*3).
		{"repertoire: part of a training trace", repertoire, []int32{2, 1, 2}, 1 - 2/math.Sqrt(6)},
		// {4,5,6} against {4,5}: the new call counts in the norm.
		{"repertoire: a new call beside known ones", repertoire, []int32{4, 5, 6}, 1 - 2/math.Sqrt(6)},
		{"repertoire: empty says nothing", repertoire, nil, 0},
		{"transitions: a training trace", transitions, []int32{4, 5, 4, 5}, 0},
		// 5→4 once, weight ln 2, where training has 4→5 twice (ln 3) and
		// 5→4 once (ln 2).
		{"transitions: one pair of a training trace", transitions, []int32{5, 4},
			1 - math.Log(2)/math.Hypot(math.Log(3), math.Log(2))},
		{"transitions: reversed order is new", transitions, []int32{3, 2, 1}, 1},
		{"transitions: one call has no pair", transitions, []int32{1}, 0},
	}
	models := map[profileKind]*nearest{}
	for _, k := range []profileKind{repertoire, transitions} {
		models[k] = newNearest(k)
		models[k].train(train, 0)
	}
	for _, tt := range tests {
		out := []float64{-1}
		models[tt.kind].scores([][]int32{tt.trace}, out)
		if math.Abs(out[0]-tt.want) > 1e-12 {
			t.Errorf("%s: %v, want %v", tt.name, out[0], tt.want)
		}
	}
}

func TestRobustLocScale(t *testing.T) {
	tests := []struct {
		name       string
		xs         []float64
		loc, scale float64
	}{
		{"MAD", []float64{5, 1, 3, 2, 4}, 3, 1.4826},
		{"MAD 0: the mean absolute deviation", []float64{0, 0, 0, 0, 5}, 0, 1.2533},
		{"all equal: a billionth", []float64{2, 2, 2}, 2, 2e-9},
		{"all 0: a billionth", []float64{0, 0}, 0, 1e-9},
	}
	for _, tt := range tests {
		loc, scale := robustLocScale(tt.xs)
		if loc != tt.loc || math.Abs(scale-tt.scale) > 1e-12 {
			t.Errorf("%s: %v, %v; want %v, %v", tt.name, loc, scale, tt.loc, tt.scale)
		}
	}
}

// TestSequenceConsensus checks seq.novelty: a trace is novel only when
// every model finds it so.
func TestSequenceConsensus(t *testing.T) {
	var train [][]int32
	for i := range 20 {
		train = append(train, loop([]int32{1, 2, 3, 4, int32(5 + i%4)}, 6+i%5))
	}
	sq := NewSequence(SequenceConfig{Order: 3, Seed: 1, Combine: Min, Models: []Model{NLL, Calls, Pairs}})
	if got := sq.Names(); !reflect.DeepEqual(got, []string{"seq.novelty"}) {
		t.Errorf("Names = %v", got)
	}
	X, err := sq.Fit(train)
	if err != nil {
		t.Fatal(err)
	}
	if len(X) != len(train) || len(X[0]) != 1 || len(sq.center) != 3 {
		t.Fatalf("Fit returned %d×%d over %d models", len(X), len(X[0]), len(sq.center))
	}
	floor := sq.Typical()[0]
	traces := [][]int32{
		train[3],                        // seen: the floor
		loop([]int32{9, 10, 11}, 10),    // new calls: novel to every model
		loop([]int32{4, 3, 2, 1, 5}, 6), // known calls in a new order: the repertoire finds it ordinary
		append(loop([]int32{1, 2, 3, 4, 5}, 6), loop([]int32{9, 10, 11}, 10)...), // a known program, then new calls
		{},
	}
	got := make([][]float64, len(traces))
	sq.AppendFeatures(traces, got)
	for i, tr := range traces {
		if one := sq.Features(tr, nil); !reflect.DeepEqual(one, got[i]) {
			t.Errorf("trace %d: alone %v, side by side %v", i, one, got[i])
		}
	}
	if got[0][0] != floor || got[2][0] != floor || got[4][0] != floor {
		t.Errorf("seen %v, reordered %v, empty %v: want the floor %v", got[0][0], got[2][0], got[4][0], floor)
	}
	if !(got[1][0] > 10 && got[3][0] > floor && got[3][0] < got[1][0]) {
		t.Errorf("new calls %v, known then new %v, floor %v", got[1][0], got[3][0], floor)
	}
	// The reordered trace is novel to the n-gram model alone.
	sep := NewSequence(SequenceConfig{Order: 3, Seed: 1, Models: []Model{NLL}})
	if _, err := sep.Fit(train); err != nil {
		t.Fatal(err)
	}
	if f := sep.Features(traces[2], nil); !(f[0] > sep.Typical()[0]) {
		t.Errorf("the n-gram model finds the reordered trace ordinary: %v", f)
	}
	if X2, _ := NewSequence(SequenceConfig{Order: 3, Seed: 1, Combine: Min, Models: []Model{NLL, Calls, Pairs}}).Fit(train); !reflect.DeepEqual(X, X2) {
		t.Errorf("same seed, different cross-fitted features")
	}
}

// TestSequenceFisher checks seq.novelty under Fisher: the sum over models
// of -ln of the conformal tail probability among the cross-fitted training
// scores, so a trace beyond every training trace under both models scores
// 2 ln(n+1), and a training trace's own score is what Fit returned.
func TestSequenceFisher(t *testing.T) {
	var train [][]int32
	for i := range 20 {
		train = append(train, loop([]int32{1, 2, 3, 4, int32(5 + i%4)}, 6+i%5))
	}
	sq := NewSequence(SequenceConfig{Order: 3, Seed: 1, Combine: Fisher, Models: []Model{NLL, Calls}})
	X, err := sq.Fit(train)
	if err != nil {
		t.Fatal(err)
	}
	if got := sq.Names(); !reflect.DeepEqual(got, []string{"seq.novelty"}) || len(X[0]) != 1 {
		t.Fatalf("Names = %v, %d features", got, len(X[0]))
	}
	novel := sq.Features(loop([]int32{9, 10, 11}, 10), nil)[0]
	if want := 2 * math.Log(21); math.Abs(novel-want) > 1e-12 {
		t.Errorf("novel to both models: %v, want %v", novel, want)
	}
	// By hand: a raw pair of scores against the sorted training scores.
	x := []float64{sq.sorted[0][10], sq.sorted[1][19] + 1}
	ge0 := 0
	for _, v := range sq.sorted[0] {
		if v >= x[0] {
			ge0++
		}
	}
	want := -math.Log(float64(1+ge0)/21) - math.Log(1.0/21)
	if got := sq.combine(x); math.Abs(got-want) > 1e-12 {
		t.Errorf("combine(%v) = %v, want %v", x, got, want)
	}
	for i, x := range X {
		if x[0] < sq.Typical()[0] || math.IsNaN(x[0]) {
			t.Errorf("trace %d: %v below the floor %v", i, x[0], sq.Typical()[0])
		}
	}
}

func TestParseCombine(t *testing.T) {
	for _, c := range []Combine{Separate, Min, Fisher} {
		if got, err := ParseCombine(c.String()); got != c || err != nil {
			t.Errorf("ParseCombine(%q) = %v, %v", c, got, err)
		}
	}
	if _, err := ParseCombine("mean"); !errors.Is(errors.Invalid, err) {
		t.Errorf("ParseCombine(mean): err = %v", err)
	}
}
