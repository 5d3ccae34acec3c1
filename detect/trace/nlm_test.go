package trace

import (
	"math"
	"reflect"
	"testing"
)

// TestNLMGradient checks backward against central differences of forward on
// a tiny model.
func TestNLMGradient(t *testing.T) {
	vocab := map[int32]int32{10: 2, 11: 3, 12: 4}
	m := newNLM(NeuralConfig{Context: 3, Embed: 2, Hidden: 4}, vocab, 7)
	for i := range m.p { // non-zero biases too
		m.p[i] += 0.05 * math.Sin(float64(i))
	}
	ctx, y := []int32{tokPad, 2, 4}, int32(3)
	s := m.scratch()
	g := make([]float64, m.nParams)
	m.forward(ctx, y, s)
	m.backward(ctx, y, 1, s, g)
	const h = 1e-6
	for i := range m.p {
		p0 := m.p[i]
		m.p[i] = p0 + h
		lp := m.forward(ctx, y, s)
		m.p[i] = p0 - h
		lm := m.forward(ctx, y, s)
		m.p[i] = p0
		num := (lp - lm) / (2 * h)
		if math.Abs(num-g[i]) > 1e-6*max(1, math.Abs(num)) {
			t.Errorf("param %d: backward %.9g, numerical %.9g", i, g[i], num)
		}
	}
}

// TestNLMLearns trains on a repeated pattern: the model must predict it
// nearly surely, find the reversed pattern surprising, and be deterministic.
func TestNLMLearns(t *testing.T) {
	pattern := []int32{5, 1, 4, 1, 5, 9, 2, 6}
	var train [][]int32
	for i := range 8 {
		train = append(train, loop(pattern, 4+i))
	}
	cfg := NeuralConfig{Context: 4, Embed: 4, Hidden: 16, Epochs: 20, Batch: 16, Rate: 1e-2}
	fit := func() *nlm {
		m := newNLM(cfg, vocabOf(train), 3)
		m.train(train, 3)
		return m
	}
	m := fit()
	s := m.scratch()
	known := m.nll(loop(pattern, 10), s)
	rev := loop([]int32{6, 2, 9, 5, 1, 4, 1, 5}, 10)
	novel := m.nll(rev, s)
	if known > 0.3 || novel < 2 {
		t.Errorf("mean NLL: known pattern %.3f, reversed %.3f", known, novel)
	}
	if unk := m.nll([]int32{77, 78, 79}, s); unk < novel {
		t.Errorf("unseen elements NLL %.3f < reversed %.3f", unk, novel)
	}
	if m2 := fit(); !reflect.DeepEqual(m.p, m2.p) {
		t.Errorf("same seed, different parameters")
	}
}

// TestSequenceNeural checks that seq.nlm is added, cross-fitted and
// deterministic.
func TestSequenceNeural(t *testing.T) {
	var train [][]int32
	for i := range 10 {
		train = append(train, loop([]int32{1, 2, 3, 4}, 5+i))
	}
	cfg := NeuralConfig{Context: 3, Embed: 4, Hidden: 8, Epochs: 5}
	sq := NewSequence(SequenceConfig{Order: 3, Seed: 1, Neural: &cfg, Models: []Model{NLL, Unseen}})
	if got := sq.Names(); !reflect.DeepEqual(got, []string{"seq.nll", "seq.unseen3", "seq.nlm"}) {
		t.Errorf("Names = %v", got)
	}
	X, err := sq.Fit(train)
	if err != nil {
		t.Fatal(err)
	}
	if len(X[0]) != 3 {
		t.Fatalf("Fit returned %d features", len(X[0]))
	}
	known := sq.Features(loop([]int32{1, 2, 3, 4}, 8), nil)
	novel := sq.Features(loop([]int32{4, 3, 2, 1}, 8), nil)
	if !(novel[2] > known[2]) {
		t.Errorf("seq.nlm: novel %v, known %v", novel[2], known[2])
	}
	sq2 := NewSequence(SequenceConfig{Order: 3, Seed: 1, Neural: &cfg, Models: []Model{NLL, Unseen}})
	if X2, _ := sq2.Fit(train); !reflect.DeepEqual(X, X2) {
		t.Errorf("same seed, different cross-fitted features")
	}
}
