package trace

import (
	"math"
	"reflect"
	"runtime"
	"testing"
)

// TestRNNGradient checks the backpropagation through time of window
// against central differences of the loss that forward computes, on a tiny
// model, for windows from the zero state and from carried states, across
// the start of a trace and past the end of a lane.
func TestRNNGradient(t *testing.T) {
	vocab := map[int32]int32{10: 2, 11: 3, 12: 4}
	m := newRNN(RecurrentConfig{Hidden: 3}, vocab, 7)
	for i := range m.p { // non-zero output biases too
		m.p[i] += 0.05 * math.Sin(float64(i))
	}
	m.sync()
	seqs := [][]int32{{10, 12, 11, 11, 10, 12, 12}, {12, 10, 99, 11}, {11}, {10, 10, 12, 11, 12, 10}, {12, 11}}
	ls := m.lanes(seqs, []int{0, 1, 2, 3, 4}, 4)
	gr := [4]*lane{&ls[0], &ls[1], &ls[2], &ls[3]}
	var carry [4][]float64
	for l, ln := range gr {
		for i := range ln.carry {
			ln.carry[i] = 0.3 * math.Cos(float64(i+5*l))
		}
		carry[l] = append([]float64(nil), ln.carry...)
	}
	restore := func() {
		for l, ln := range gr {
			copy(ln.carry, carry[l])
		}
	}
	const T, w = 4, 0.7
	tp := m.tape(T)
	for _, lo := range []int{0, 3} {
		restore()
		g := make([]float64, m.nParams)
		m.window(&gr, lo, w, tp, g)
		const eps = 1e-6
		for i := range m.p {
			p0 := m.p[i]
			m.p[i] = p0 + eps
			restore()
			_, lp := m.forward(&gr, lo, w, tp)
			m.p[i] = p0 - eps
			restore()
			_, lm := m.forward(&gr, lo, w, tp)
			m.p[i] = p0
			num := (lp - lm) / (2 * eps)
			if math.Abs(num-g[i]) > 1e-6*max(1, math.Abs(num)) {
				t.Errorf("window at %d, param %d: backward %.9g, numerical %.9g", lo, i, g[i], num)
			}
		}
	}
}

// TestRNNLearns trains on a repeated pattern whose next element depends on
// more than the previous one: the model must predict it nearly surely,
// find the reversed pattern surprising, and be deterministic whatever the
// number of cores.
func TestRNNLearns(t *testing.T) {
	pattern := []int32{5, 1, 4, 1, 5, 9, 2, 6}
	var train [][]int32
	for i := range 8 {
		train = append(train, loop(pattern, 4+i))
	}
	cfg := RecurrentConfig{Hidden: 16, Epochs: 30, Lanes: 4, Window: 8, Rate: 0.02}
	fit := func(procs int) *rnn {
		defer setProcs(procs)()
		m := newRNN(cfg, vocabOf(train), 3)
		m.train(train, 3)
		return m
	}
	m := fit(2)
	s := m.scratch()
	known := m.nll(loop(pattern, 10), s)
	novel := m.nll(loop([]int32{6, 2, 9, 5, 1, 4, 1, 5}, 10), s)
	if known > 0.3 || novel < 2 {
		t.Errorf("mean NLL: known pattern %.3f, reversed %.3f", known, novel)
	}
	if unk := m.nll([]int32{77, 78, 79}, s); unk < novel {
		t.Errorf("unseen elements NLL %.3f < reversed %.3f", unk, novel)
	}
	if m1 := fit(1); !reflect.DeepEqual(m.p, m1.p) {
		t.Errorf("same seed, different parameters with 1 and 2 cores")
	}
}

// setProcs sets GOMAXPROCS to n and returns a function that restores it.
func setProcs(n int) func() {
	old := runtime.GOMAXPROCS(n)
	return func() { runtime.GOMAXPROCS(old) }
}

// TestSequenceRecurrent checks that seq.rnn replaces seq.unseenN when
// asked, is deterministic, and that scoring traces side by side gives each
// the score it has alone.
func TestSequenceRecurrent(t *testing.T) {
	var train [][]int32
	for i := range 10 {
		train = append(train, loop([]int32{1, 2, 3, 4}, 5+i))
	}
	cfg := RecurrentConfig{Hidden: 8, Epochs: 10, Lanes: 4, Window: 4}
	fit := func() (*Sequence, [][]float64) {
		sq := NewSequence(SequenceConfig{Order: 3, Seed: 1, Recurrent: &cfg, Models: []Model{NLL}})
		X, err := sq.Fit(train)
		if err != nil {
			t.Fatal(err)
		}
		return sq, X
	}
	sq, X := fit()
	if got := sq.Names(); !reflect.DeepEqual(got, []string{"seq.nll", "seq.rnn"}) {
		t.Errorf("Names = %v", got)
	}
	if len(X[0]) != 2 {
		t.Fatalf("Fit returned %d features", len(X[0]))
	}
	traces := [][]int32{loop([]int32{1, 2, 3, 4}, 8), loop([]int32{4, 3, 2, 1}, 8), {1, 2, 9},
		loop([]int32{1, 2, 3, 4}, 3), {}, {3}}
	batch := make([][]float64, len(traces))
	sq.AppendFeatures(traces, batch)
	for i, tr := range traces {
		if one := sq.Features(tr, nil); !reflect.DeepEqual(one, batch[i]) {
			t.Errorf("trace %d: alone %v, side by side %v", i, one, batch[i])
		}
	}
	if known, novel := batch[0][1], batch[1][1]; !(novel > known) {
		t.Errorf("seq.rnn: novel %v, known %v", novel, known)
	}
	if _, X2 := fit(); !reflect.DeepEqual(X, X2) {
		t.Errorf("same seed, different cross-fitted features")
	}
}
