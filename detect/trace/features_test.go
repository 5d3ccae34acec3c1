package trace

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"

	"imgward/errors"
)

// loop returns n repetitions of pattern.
func loop(pattern []int32, n int) []int32 {
	var s []int32
	for range n {
		s = append(s, pattern...)
	}
	return s
}

// TestSequenceFeatures checks the separate features.
func TestSequenceFeatures(t *testing.T) {
	var train [][]int32
	for i := range 10 {
		train = append(train, loop([]int32{1, 2, 3, 4}, 5+i))
	}
	sq := NewSequence(SequenceConfig{Order: 3, Seed: 1, Models: []Model{NLL, Unseen}})
	if got := sq.Names(); !reflect.DeepEqual(got, []string{"seq.nll", "seq.unseen3"}) {
		t.Errorf("Names = %v", got)
	}
	X, err := sq.Fit(train)
	if err != nil {
		t.Fatal(err)
	}
	if len(X) != len(train) || len(X[0]) != 2 {
		t.Fatalf("Fit returned %d×%d", len(X), len(X[0]))
	}
	known := sq.Features(loop([]int32{1, 2, 3, 4}, 8), nil)
	if known[1] != 0 {
		t.Errorf("a known loop has %v unseen 3-grams", known[1])
	}
	// 4 3 2 1 repeated: every 3-gram unseen, and every element surprising.
	novel := sq.Features(loop([]int32{4, 3, 2, 1}, 8), nil)
	if novel[1] != 1 || !(novel[0] > 3*known[0]) {
		t.Errorf("novel trace %v, known %v", novel, known)
	}
	// Shorter than the order: the trace as one gram.
	if f := sq.Features([]int32{9, 9}, nil); f[1] != 1 {
		t.Errorf("short novel trace: %v", f)
	}
	// Appends to dst.
	if f := sq.Features([]int32{1, 2, 3}, []float64{7}); len(f) != 3 || f[0] != 7 {
		t.Errorf("Features did not append: %v", f)
	}
	// Deterministic.
	sq2 := NewSequence(SequenceConfig{Order: 3, Seed: 1, Models: []Model{NLL, Unseen}})
	X2, _ := sq2.Fit(train)
	if !reflect.DeepEqual(X, X2) {
		t.Errorf("same seed, different cross-fitted features")
	}
}

func TestSequenceFloorsAtTheMedian(t *testing.T) {
	var train [][]int32
	for i := range 20 {
		train = append(train, loop([]int32{1, 2, 3, 4, int32(5 + i%4)}, 6))
	}
	sq := NewSequence(SequenceConfig{Order: 3})
	X, err := sq.Fit(train)
	if err != nil {
		t.Fatal(err)
	}
	f := sq.Features(train[0], nil) // seen in training: as familiar as it gets
	for j := range f {
		if f[j] != sq.floor[j] {
			t.Errorf("feature %d of a training trace is %v, floor %v", j, f[j], sq.floor[j])
		}
		for _, x := range X {
			if x[j] < sq.floor[j] || math.IsNaN(x[j]) {
				t.Errorf("cross-fitted feature %d is %v, below the floor %v", j, x[j], sq.floor[j])
			}
		}
	}
}

func TestSequenceFitErrors(t *testing.T) {
	sq := NewSequence(SequenceConfig{})
	if _, err := sq.Fit([][]int32{{1}, {2}}); !errors.Is(errors.Invalid, err) {
		t.Errorf("too few traces: err = %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Error("Features before Fit did not panic")
		}
	}()
	sq.Features([]int32{1}, nil)
}

func TestNgramModelProbabilities(t *testing.T) {
	m := newNgramModel(2)
	m.add([]int32{1, 2, 1, 2, 1, 3})
	// After 1: 2 twice, 3 once; Witten-Bell with 2 types:
	// P(2|1) = (2 + 2*Pu(2)) / (3 + 2), Pu(2) = (2+1)/(6+3+1).
	var st seqStats
	m.stats([]int32{1, 2}, &st)
	pu1, pu2 := (3.0+1)/10, (2.0+1)/10
	want := -math.Log(pu1) - math.Log((2+2*pu2)/5)
	if math.Abs(st.nll-want) > 1e-12 {
		t.Errorf("nll = %v, want %v", st.nll, want)
	}
	if st.unseen != 0 {
		t.Errorf("unseen = %v", st.unseen)
	}
}

// TestSequenceModels checks that Models chooses the features, in the order
// n-gram models first, and that the default is DefaultModels.
func TestSequenceModels(t *testing.T) {
	for _, tt := range []struct {
		cfg  SequenceConfig
		want []string
	}{
		{SequenceConfig{}, []string{"seq.nll", "seq.unseen6", "seq.calls", "seq.pairs"}},
		{SequenceConfig{Models: []Model{NLL, Calls, Pairs}}, []string{"seq.nll", "seq.calls", "seq.pairs"}},
		{SequenceConfig{Models: []Model{Unseen}}, []string{"seq.unseen6"}},
		{SequenceConfig{Order: 4, Models: []Model{Pairs, Frames, NLL, Frames}}, []string{"seq.lfc4", "seq.nll", "seq.pairs"}},
		{SequenceConfig{Combine: Min, Models: []Model{NLL, Calls}}, []string{"seq.novelty"}},
		{SequenceConfig{Models: []Model{Cover, Calls, CoverNear, Match10, Match20, MatchLow}},
			[]string{"seq.cover", "seq.calls", "seq.covnear", "seq.match10", "seq.match20", "seq.matchlow"}},
		{SequenceConfig{Combine: Fisher, Models: []Model{Unseen, Cover}}, []string{"seq.novelty"}},
		{SequenceConfig{Models: []Model{Calls, CondNLL}}, []string{"seq.cnll", "seq.calls"}},
		// seq.calls computed for the residuals, not a feature.
		{SequenceConfig{Models: []Model{CondNLL, CondUnseen}}, []string{"seq.cnll", "seq.cunseen6"}},
		{SequenceConfig{Models: []Model{CondUnseen, Pairs}}, []string{"seq.cunseen6", "seq.pairs"}},
	} {
		sq := NewSequence(tt.cfg)
		if got := sq.Names(); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%+v: Names = %v, want %v", tt.cfg, got, tt.want)
		}
		var train [][]int32
		for i := range 10 {
			train = append(train, loop([]int32{1, 2, 3, 4, int32(5 + i%3)}, 5+i))
		}
		X, err := sq.Fit(train)
		if err != nil {
			t.Fatal(err)
		}
		if f := sq.Features(train[0], nil); len(X[0]) != len(tt.want) || len(f) != len(tt.want) {
			t.Errorf("%+v: %d features fitted, %d scored, want %d", tt.cfg, len(X[0]), len(f), len(tt.want))
		}
	}
	train := make([][]int32, 10)
	for i := range train {
		train[i] = []int32{1, 2, 3}
	}
	for _, bad := range []SequenceConfig{{Models: []Model{"bogus"}}, {Models: []Model{}}} {
		if _, err := NewSequence(bad).Fit(train); !errors.Is(errors.Invalid, err) {
			t.Errorf("%+v: err = %v", bad, err)
		}
	}
}

func TestParseModels(t *testing.T) {
	got, err := ParseModels("nll, calls,pairs,unseen,lfc,peak,cover,covnear,match10,match20,matchlow,cnll,cunseen")
	if want := []Model{NLL, Calls, Pairs, Unseen, Frames, Peak, Cover, CoverNear, Match10, Match20, MatchLow, CondNLL, CondUnseen}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ParseModels = %v, %v", got, err)
	}
	for _, bad := range []string{"", "nll,", "NLL", "rnn", "match", "match30"} {
		if _, err := ParseModels(bad); !errors.Is(errors.Invalid, err) {
			t.Errorf("ParseModels(%q): err = %v", bad, err)
		}
	}
}

// TestLocalityFrameCount checks the locality frame count against counts
// made by hand: the most unseen n-grams among 20 successive ones.
func TestLocalityFrameCount(t *testing.T) {
	m := newNgramModel(2)
	m.add(loop([]int32{1, 2}, 30))
	var st seqStats
	for _, tt := range []struct {
		name string
		seq  []int32
		want float64
	}{
		{"known", loop([]int32{1, 2}, 20), 0},
		// one stray call: the unseen pairs (2,9) and (9,1), 2 in a frame
		{"stray", append(append(loop([]int32{1, 2}, 15), 9), loop([]int32{1, 2}, 15)...), 2.0 / 20},
		// two stray calls 20 pairs apart never share a frame; 15 apart do
		{"apart", append(append(append(loop([]int32{1, 2}, 5), 9), loop([]int32{1, 2}, 10)...), append([]int32{9}, loop([]int32{1, 2}, 5)...)...), 2.0 / 20},
		{"close", append(append(append(loop([]int32{1, 2}, 5), 9), loop([]int32{1, 2}, 7)...), append([]int32{9}, loop([]int32{1, 2}, 5)...)...), 4.0 / 20},
		// a burst: 1 2 then 9 9 9 ... 9 (25 of them): 2,9 and 24 × 9,9 unseen, 20 at most in a frame
		{"burst", append([]int32{1, 2}, loop([]int32{9}, 25)...), 1},
		{"short", []int32{7}, 1.0 / 20},
	} {
		m.stats(tt.seq, &st)
		if math.Abs(st.frames-tt.want) > 1e-12 {
			t.Errorf("%s: frames = %v, want %v", tt.name, st.frames, tt.want)
		}
	}
}

// TestPeak checks the peak surprise against its definition: the highest
// mean -log P over 20 successive elements, each element's -log P read off
// the NLL of the prefixes (the model only looks back), and that a short
// burst of novel calls raises the peak far more than the mean.
func TestPeak(t *testing.T) {
	m := newNgramModel(3)
	m.add(loop([]int32{1, 2, 3}, 40))
	var st seqStats
	burst := append(append(loop([]int32{1, 2, 3}, 30), 9, 8, 9, 7), loop([]int32{1, 2, 3}, 30)...)
	for _, tt := range []struct {
		name string
		seq  []int32
	}{
		{"known", loop([]int32{1, 2, 3}, 20)},
		{"burst", burst},
		{"short", []int32{1, 2, 9}},
		{"exactly a frame", loop([]int32{1, 2, 3, 4}, 5)},
	} {
		cum := make([]float64, len(tt.seq)+1) // cum[i]: the NLL of seq[:i]
		for i := range tt.seq {
			m.stats(tt.seq[:i+1], &st)
			cum[i+1] = st.nll
		}
		want := cum[len(tt.seq)] / float64(len(tt.seq))
		if len(tt.seq) >= frameLen {
			want = 0
			for i := frameLen; i <= len(tt.seq); i++ {
				want = max(want, (cum[i]-cum[i-frameLen])/frameLen)
			}
		}
		m.stats(tt.seq, &st)
		if math.Abs(st.peak-want) > 1e-9 {
			t.Errorf("%s: peak = %v, want %v", tt.name, st.peak, want)
		}
		if tt.name == "burst" && !(st.peak > 3*st.nll/float64(len(tt.seq))) {
			t.Errorf("burst: peak %v, mean %v: want the peak 3 times the mean", st.peak, st.nll/float64(len(tt.seq)))
		}
	}
}

// TestSequenceConfigJSON checks that a configuration survives JSON, and
// that the form stored before Models decodes to the models it meant.
func TestSequenceConfigJSON(t *testing.T) {
	c := SequenceConfig{Order: 10, Seed: 3, Combine: Fisher, Models: []Model{NLL, Calls}, Recurrent: &RecurrentConfig{Hidden: 8}}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var got SequenceConfig
	if err := json.Unmarshal(b, &got); err != nil || !reflect.DeepEqual(got, c) {
		t.Errorf("round trip %s: %+v, %v", b, got, err)
	}
	for _, tt := range []struct {
		stored  string
		models  []Model
		combine Combine
	}{
		{`{"Order":0,"Folds":0,"Seed":0,"Neural":null,"Recurrent":null,"Separate":true,"NoUnseen":false}`, []Model{NLL, Unseen}, Separate},
		{`{"Separate":true,"NoUnseen":true}`, []Model{NLL}, Separate},
		{`{"Separate":false}`, []Model{NLL, Calls, Pairs}, Min},
		{`{}`, nil, Separate},
	} {
		var c SequenceConfig
		if err := json.Unmarshal([]byte(tt.stored), &c); err != nil || !reflect.DeepEqual(c.Models, tt.models) || c.Combine != tt.combine {
			t.Errorf("%s: %+v, %v; want models %v, %v", tt.stored, c, err, tt.models, tt.combine)
		}
	}
	if err := json.Unmarshal([]byte(`{"Models":7}`), &got); err == nil {
		t.Error("a malformed configuration decoded")
	}
}
