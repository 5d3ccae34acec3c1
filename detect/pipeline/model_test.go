package pipeline

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"imgward/detect"
	"imgward/detect/trace"
	"imgward/snapshot"
)

func TestThreshold(t *testing.T) {
	// Known quantiles of Gamma(n, 1): P(Gamma(1) > x) = e^-x.
	if got, want := Threshold(1, 1e-4), -math.Log(1e-4); math.Abs(got-want) > 1e-6 {
		t.Errorf("Threshold(1) = %v, want %v", got, want)
	}
	// P(Gamma(2) > x) = e^-x (1 + x); check the tail at the threshold.
	x := 2 * Threshold(2, 0.01)
	if p := math.Exp(-x) * (1 + x); math.Abs(p-0.01) > 1e-6 {
		t.Errorf("tail at Threshold(2, 0.01) = %v, want 0.01", p)
	}
	prev := math.Inf(1)
	for _, n := range []int{1, 5, 20, 100, 1000} {
		th := Threshold(n, 1e-4)
		if !(th < prev && th > 1) {
			t.Errorf("Threshold(%d) = %v: want decreasing toward 1", n, th)
		}
		prev = th
	}
}

func TestModel(t *testing.T) {
	var snaps []*snapshot.Snapshot
	for i := range 100 {
		s := &snapshot.Snapshot{Numeric: map[string]float64{"cpu": float64(i % 10)},
			Sets: map[string][]string{"procs": {"nginx", "sshd"}}}
		if i == 7 {
			s.Sets["procs"] = append(s.Sets["procs"], "rare") // once: not common
		}
		snaps = append(snaps, s)
	}
	m := Build(Config{Detector: "ensemble", Seed: 1, MaxRows: 50}, snaps)
	if len(m.Rows) != 50 {
		t.Fatalf("%d rows, want 50 (the bound)", len(m.Rows))
	}
	if got := m.Columns(); len(got) != 3 || got[1] != "procs.count" || got[2] != "procs.novel" {
		t.Errorf("columns %v", got)
	}
	sc, err := m.Fit()
	if err != nil {
		t.Fatal(err)
	}
	normal := sc.Vector(&snapshot.Snapshot{Numeric: map[string]float64{"cpu": 4}, Sets: map[string][]string{"procs": {"sshd", "nginx", "nginx"}}})
	odd := sc.Vector(&snapshot.Snapshot{Numeric: map[string]float64{"cpu": 90}, Sets: map[string][]string{"procs": {"nginx", "xmrig", "rare"}}})
	if normal[1] != 2 || normal[2] != 0 || odd[2] != 2 {
		t.Errorf("vectors %v %v: want 2 distinct items, 0 and 2 novel", normal, odd)
	}
	sn, so := sc.Surprise(sc.det.Score(normal)), sc.Surprise(sc.det.Score(odd))
	if !(so > sn) || so < math.Log(51) {
		t.Errorf("surprise normal %v, odd %v: want odd beyond the empirical cap ln 51", sn, so)
	}
	// The stored form refits to the same scores.
	if sc2 := refit(t, m); sc2.det.Score(odd) != sc.det.Score(odd) {
		t.Error("a stored model scores differently")
	}
}

// TestModelSyscalls checks the features of system calls: the set of call
// numbers of a sequence or a histogram, and the sequence scores, which
// tell a trace of unusual order from the role's traces, and leave a
// snapshot without a trace typical.
func TestModelSyscalls(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	// The role's program: open, read a few times, write, close, in a loop.
	normalTrace := func() []int32 {
		var tr []int32
		for range 20 + rng.IntN(20) {
			tr = append(tr, 5)
			for range 1 + rng.IntN(3) {
				tr = append(tr, 3)
			}
			tr = append(tr, 4, 6)
		}
		return tr
	}
	var snaps []*snapshot.Snapshot
	for i := range 60 {
		s := &snapshot.Snapshot{Numeric: map[string]float64{"cpu": float64(i % 7)}}
		if i%4 != 0 { // some collectors see no calls
			s.Syscalls = &snapshot.Syscalls{Sequence: normalTrace()}
		}
		snaps = append(snaps, s)
	}
	// The features of the service's former default: every model, and the
	// call set.
	all := trace.SequenceConfig{Models: trace.DefaultModels()}
	m := Build(Config{Detector: "ensemble", Seed: 1, MaxRows: 1000, Sequence: &all,
		Features: &TraceFeatures{CallSet: true}}, snaps)
	want := []string{"cpu", "syscalls.count", "syscalls.novel", "syscalls.nll", "syscalls.unseen6", "syscalls.calls", "syscalls.pairs"}
	if got := m.Columns(); !slices.Equal(got, want) {
		t.Fatalf("columns %v, want %v", got, want)
	}
	if len(m.Traces) != 45 {
		t.Errorf("%d traces kept, want 45", len(m.Traces))
	}
	sc, err := m.Fit()
	if err != nil {
		t.Fatal(err)
	}
	// The same calls in another order: open, write, read, close, read.
	var shuffled []int32
	for range 30 {
		shuffled = append(shuffled, 5, 4, 3, 6, 3)
	}
	snap := func(c *snapshot.Syscalls) *snapshot.Snapshot {
		return &snapshot.Snapshot{Numeric: map[string]float64{"cpu": 3}, Syscalls: c}
	}
	normal := snap(&snapshot.Syscalls{Sequence: normalTrace()})
	tests := []struct {
		name    string
		s       *snapshot.Snapshot
		novel   float64 // calls the baseline never makes
		odd     bool    // more surprising than normal
		typical bool    // sequence features are the typical ones
	}{
		{"normal trace", normal, 0, false, slices.Equal(sc.Vector(normal)[3:], sc.seqTyp)}, // may be floored
		{"no calls", snap(nil), 0, false, true},
		{"histogram of usual calls", snap(&snapshot.Syscalls{Histogram: map[int32]uint64{3: 10, 5: 2}}), 0, false, true},
		{"histogram with ptrace", snap(&snapshot.Syscalls{Histogram: map[int32]uint64{3: 10, 26: 1}}), 1, true, true},
		{"usual calls, unusual order", snap(&snapshot.Syscalls{Sequence: shuffled}), 0, true, false},
	}
	sNormal := sc.Surprise(sc.det.Score(sc.Vector(normal)))
	for _, tc := range tests {
		x := sc.Vector(tc.s)
		if len(x) != len(want) {
			t.Fatalf("%s: row %v, want %d columns", tc.name, x, len(want))
		}
		if x[2] != tc.novel {
			t.Errorf("%s: %v novel calls, want %v", tc.name, x[2], tc.novel)
		}
		if got := slices.Equal(x[3:], sc.seqTyp); got != tc.typical {
			t.Errorf("%s: sequence features %v, typical %v: equal %v, want %v", tc.name, x[3:], sc.seqTyp, got, tc.typical)
		}
		s := sc.Surprise(sc.det.Score(x))
		if odd := s > sNormal+2; odd != tc.odd {
			t.Errorf("%s: surprise %.2f against a normal trace's %.2f: odd %v, want %v", tc.name, s, sNormal, odd, tc.odd)
		}
	}
	// The stored form refits the sequence model to the same features.
	odd := snap(&snapshot.Syscalls{Sequence: shuffled})
	if a, b := sc.Vector(odd), refit(t, m).Vector(odd); !slices.Equal(a, b) {
		t.Errorf("a stored model's row %v, the built one's %v", b, a)
	}
}

// refit fits m as stored and loaded again.
func refit(t *testing.T, m *Model) *Scorer {
	t.Helper()
	m2, err := Load(m.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	sc, err := m2.Fit()
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// loopSnapshots returns 40 snapshots of a program that loops over the
// same four calls 10 to 19 times.
func loopSnapshots(rng *rand.Rand) []*snapshot.Snapshot {
	var snaps []*snapshot.Snapshot
	for i := range 40 {
		tr := []int32{}
		for range 10 + rng.IntN(10) {
			tr = append(tr, 5, 3, 4, 6)
		}
		snaps = append(snaps, &snapshot.Snapshot{Numeric: map[string]float64{"cpu": float64(i % 5)},
			Syscalls: &snapshot.Syscalls{Sequence: tr}})
	}
	return snaps
}

// TestModelRecordsSequence checks that a model stores the sequence
// configuration it was built with and refits by it, not by the default.
func TestModelRecordsSequence(t *testing.T) {
	snaps := loopSnapshots(rand.New(rand.NewPCG(3, 4)))
	consensus := trace.SequenceConfig{Combine: trace.Min, Models: []trace.Model{trace.NLL, trace.Calls, trace.Pairs}}
	m := Build(Config{Seed: 1, Sequence: &consensus, Features: &TraceFeatures{CallSet: true}}, snaps)
	want := []string{"cpu", "syscalls.count", "syscalls.novel", "syscalls.novelty"}
	if got := m.Columns(); !slices.Equal(got, want) {
		t.Fatalf("columns %v, want %v", got, want)
	}
	sc := refit(t, m)
	if got := sc.cols; !slices.Equal(got, want) {
		t.Errorf("a stored model refits to columns %v, want %v", got, want)
	}
	if d := Build(Config{Seed: 1}, snaps); d.Sequence == nil || !reflect.DeepEqual(*d.Sequence, DefaultSequence()) {
		t.Errorf("a model built with the default records %+v", d.Sequence)
	}
}

// TestModelSequenceCovering checks that a baseline of the sequence
// covering models stores only their names and its traces (the suffix
// automaton is rebuilt from them), and that the stored baseline refits to
// the same scores: a trace that splices the loop's calls in a new order
// scores above the normal ones, the same on both.
func TestModelSequenceCovering(t *testing.T) {
	snaps := loopSnapshots(rand.New(rand.NewPCG(7, 8)))
	covering := trace.SequenceConfig{Models: []trace.Model{trace.Cover, trace.Match20, trace.CoverNear}}
	m := Build(Config{Seed: 1, Sequence: &covering}, snaps)
	want := []string{"cpu", "syscalls.cover", "syscalls.match20", "syscalls.covnear"}
	if got := m.Columns(); !slices.Equal(got, want) {
		t.Fatalf("columns %v, want %v", got, want)
	}
	// Stored as a baseline of other models: only its rows and its
	// configuration differ.
	three := trace.SequenceConfig{Models: []trace.Model{trace.Unseen, trace.Calls, trace.Pairs}}
	var got, ref map[string]json.RawMessage
	if err := json.Unmarshal(m.Marshal(), &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(Build(Config{Seed: 1, Sequence: &three}, snaps).Marshal(), &ref); err != nil {
		t.Fatal(err)
	}
	for k, v := range got {
		if k != "rows" && k != "sequence" && !bytes.Equal(v, ref[k]) {
			t.Errorf("stored %s differs from a baseline of other models'", k)
		}
	}
	if len(got) != len(ref) {
		t.Errorf("stored fields %d, a baseline of other models' %d", len(got), len(ref))
	}
	built, err := m.Fit()
	if err != nil {
		t.Fatal(err)
	}
	stored := refit(t, m)
	normal := snaps[3]
	spliced := &snapshot.Snapshot{Numeric: map[string]float64{"cpu": 1},
		Syscalls: &snapshot.Syscalls{Sequence: []int32{5, 3, 4, 6, 5, 4, 3, 6, 5, 6, 4, 3, 5, 3, 4, 6, 5, 4, 6, 3}}}
	for _, s := range []*snapshot.Snapshot{normal, spliced} {
		if a, b := built.Score(built.Vector(s)), stored.Score(stored.Vector(s)); a != b {
			t.Errorf("built scores %v, stored %v", a, b)
		}
	}
	if n, sp := stored.Score(stored.Vector(normal)), stored.Score(stored.Vector(spliced)); !(sp > n) {
		t.Errorf("spliced trace scores %v, a normal one %v: want higher", sp, n)
	}
}

// TestModelConditional checks that a baseline of the conditional residual
// (trace.CondNLL, fitted on the cross-fitted rows of its traces) stores
// only its configuration beside the traces, and that the stored baseline
// refits to the scores it was built with, with the hidden seq.calls it
// conditions on too.
func TestModelConditional(t *testing.T) {
	snaps := loopSnapshots(rand.New(rand.NewPCG(7, 8)))
	spliced := &snapshot.Snapshot{Numeric: map[string]float64{"cpu": 1},
		Syscalls: &snapshot.Syscalls{Sequence: []int32{5, 3, 4, 6, 5, 4, 3, 6, 5, 6, 4, 3, 5, 3, 4, 6, 5, 4, 6, 3}}}
	for _, tt := range []struct {
		models []trace.Model
		want   []string
	}{
		{[]trace.Model{trace.CondNLL, trace.Calls}, []string{"cpu", "syscalls.cnll", "syscalls.calls"}},
		{[]trace.Model{trace.CondUnseen}, []string{"cpu", "syscalls.cunseen6"}},
	} {
		cfg := trace.SequenceConfig{Models: tt.models}
		m := Build(Config{Seed: 1, Sequence: &cfg}, snaps)
		if got := m.Columns(); !slices.Equal(got, tt.want) {
			t.Fatalf("columns %v, want %v", got, tt.want)
		}
		built, err := m.Fit()
		if err != nil {
			t.Fatal(err)
		}
		stored := refit(t, m)
		for _, s := range []*snapshot.Snapshot{snaps[3], spliced} {
			if a, b := built.Score(built.Vector(s)), stored.Score(stored.Vector(s)); a != b {
				t.Errorf("%v: built scores %v, stored %v", tt.models, a, b)
			}
		}
	}
}

// TestModelTraceFeatures checks the choices of a trace baseline
// (TraceFeatures): without the call set its rows have the sequence
// features alone, its detector is the one chosen for traces, both are
// recorded and refitted, a baseline stored before they were recorded keeps
// the call set, and a baseline without traces is untouched.
func TestModelTraceFeatures(t *testing.T) {
	snaps := loopSnapshots(rand.New(rand.NewPCG(5, 6)))
	var plain []*snapshot.Snapshot
	for i := range 40 {
		plain = append(plain, &snapshot.Snapshot{Numeric: map[string]float64{"cpu": float64(i % 5)},
			Syscalls: &snapshot.Syscalls{Histogram: map[int32]uint64{3: 4, 5: 1}}})
	}
	named := loopSnapshots(rand.New(rand.NewPCG(5, 6)))
	for i, s := range named {
		if i%2 == 0 { // a collector that sends its own set of calls
			s.Sets = map[string][]string{"syscalls": {"3", "4", "5", "6"}}
		}
	}
	seqOnly := TraceFeatures{Detector: "ecod"}
	seqCols := []string{"cpu", "syscalls.nll", "syscalls.calls"}
	withSet := []string{"cpu", "syscalls.count", "syscalls.novel", "syscalls.nll", "syscalls.calls"}
	tests := []struct {
		name  string
		snaps []*snapshot.Snapshot
		named string // Config.Detector
		f     *TraceFeatures
		det   string
		cols  []string
	}{
		{"the default", snaps, "", nil, "ecodx", seqCols},
		{"sequence features alone, ecod", snaps, "", &seqOnly, "ecod", seqCols},
		{"a detector named overrides the traces' default", snaps, "zscore", &seqOnly, "zscore", seqCols},
		// A set a collector names syscalls is its own, kept; the calls of
		// the others are not made into it.
		{"a collector's own set of calls", named, "", &seqOnly, "ecod", withSet},
		{"with the call set", snaps, "", &TraceFeatures{CallSet: true}, detect.DefaultName, withSet},
		// Without traces the choices do not apply: the histogram's set is
		// the only view of the calls.
		{"histograms only", plain, "", &seqOnly, detect.DefaultName, []string{"cpu", "syscalls.count", "syscalls.novel"}},
	}
	for _, tc := range tests {
		m := Build(Config{Detector: tc.named, Seed: 1, Features: tc.f}, tc.snaps)
		if m.Detector != tc.det || !slices.Equal(m.Columns(), tc.cols) {
			t.Errorf("%s: detector %s columns %v, want %s %v", tc.name, m.Detector, m.Columns(), tc.det, tc.cols)
		}
		sc := refit(t, m)
		if sc.m.Detector != tc.det || !slices.Equal(sc.cols, tc.cols) || len(sc.Vector(tc.snaps[0])) != len(tc.cols) {
			t.Errorf("%s: a stored model refits to %s %v", tc.name, sc.m.Detector, sc.cols)
		}
		// The fast featurising agrees with the sets by name, also for a
		// snapshot that names its own set of calls.
		own := &snapshot.Snapshot{Numeric: map[string]float64{"cpu": 1}, Sets: map[string][]string{"syscalls": {"3", "99"}},
			Syscalls: &snapshot.Syscalls{Sequence: []int32{5, 3, 4, 6, 99}}}
		for _, p := range append([]*snapshot.Snapshot{own}, tc.snaps[:3]...) {
			if a, b := sc.Vector(p), vectorByName(sc, p); !slices.Equal(a, b) {
				t.Errorf("%s: row %v, by name %v", tc.name, a, b)
			}
		}
	}
	// A baseline stored before the choice was recorded has no no_call_set:
	// it keeps scoring the call set, as built.
	m := Build(Config{Seed: 1, Features: &TraceFeatures{CallSet: true}}, snaps)
	var old map[string]any
	if err := json.Unmarshal(m.Marshal(), &old); err != nil {
		t.Fatal(err)
	}
	if _, ok := old["no_call_set"]; ok {
		t.Fatalf("a model with the call set stores no_call_set: %v", old["no_call_set"])
	}
	b, _ := json.Marshal(old)
	m2, err := Load(b)
	if err != nil {
		t.Fatal(err)
	}
	if sc, err := m2.Fit(); err != nil || !slices.Equal(sc.cols, withSet) {
		t.Errorf("an old baseline refits to %v (%v), want %v", sc.cols, err, withSet)
	}
	// A baseline built with the previous default's models keeps them.
	prev := trace.SequenceConfig{Models: []trace.Model{trace.NLL, trace.Calls, trace.Pairs}}
	m3, err := Load(Build(Config{Seed: 1, Sequence: &prev}, snaps).Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if sc, err := m3.Fit(); err != nil || !slices.Equal(sc.cols, []string{"cpu", "syscalls.nll", "syscalls.calls", "syscalls.pairs"}) {
		t.Errorf("a baseline of the previous default refits to %v (%v)", sc.cols, err)
	}
	// And one of the default before ECODX, STIDE and calls scored by ECOD,
	// keeps its models and its detector.
	stide := trace.SequenceConfig{Models: []trace.Model{trace.Unseen, trace.Calls}}
	m4, err := Load(Build(Config{Seed: 1, Sequence: &stide, Features: &seqOnly}, snaps).Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if sc, err := m4.Fit(); err != nil || sc.m.Detector != "ecod" || !slices.Equal(sc.cols, []string{"cpu", "syscalls.unseen6", "syscalls.calls"}) {
		t.Errorf("a baseline of the default before ECODX refits to %v (%v)", sc.cols, err)
	}
}
