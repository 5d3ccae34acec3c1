package monitor

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"imgward"
	"imgward/snapshot"
)

func TestThreshold(t *testing.T) {
	// Known quantiles of Gamma(n, 1): P(Gamma(1) > x) = e^-x.
	if got, want := threshold(1, 1e-4), -math.Log(1e-4); math.Abs(got-want) > 1e-6 {
		t.Errorf("threshold(1) = %v, want %v", got, want)
	}
	// P(Gamma(2) > x) = e^-x (1 + x); check the tail at the threshold.
	x := 2 * threshold(2, 0.01)
	if p := math.Exp(-x) * (1 + x); math.Abs(p-0.01) > 1e-6 {
		t.Errorf("tail at threshold(2, 0.01) = %v, want 0.01", p)
	}
	prev := math.Inf(1)
	for _, n := range []int{1, 5, 20, 100, 1000} {
		th := threshold(n, 1e-4)
		if !(th < prev && th > 1) {
			t.Errorf("threshold(%d) = %v: want decreasing toward 1", n, th)
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
	m := newModel("ensemble", 1, snaps, 50)
	if len(m.Rows) != 50 {
		t.Fatalf("%d rows, want 50 (the bound)", len(m.Rows))
	}
	if got := m.columns(); len(got) != 3 || got[1] != "procs.count" || got[2] != "procs.novel" {
		t.Errorf("columns %v", got)
	}
	sc, err := m.fit()
	if err != nil {
		t.Fatal(err)
	}
	normal := sc.vector(&snapshot.Snapshot{Numeric: map[string]float64{"cpu": 4}, Sets: map[string][]string{"procs": {"sshd", "nginx", "nginx"}}})
	odd := sc.vector(&snapshot.Snapshot{Numeric: map[string]float64{"cpu": 90}, Sets: map[string][]string{"procs": {"nginx", "xmrig", "rare"}}})
	if normal[1] != 2 || normal[2] != 0 || odd[2] != 2 {
		t.Errorf("vectors %v %v: want 2 distinct items, 0 and 2 novel", normal, odd)
	}
	sn, so := sc.surprise(sc.det.Score(normal)), sc.surprise(sc.det.Score(odd))
	if !(so > sn) || so < math.Log(51) {
		t.Errorf("surprise normal %v, odd %v: want odd beyond the empirical cap ln 51", sn, so)
	}
	// The stored form refits to the same scores.
	if sc2 := refit(t, m); sc2.det.Score(odd) != sc.det.Score(odd) {
		t.Error("a stored model scores differently")
	}
}

func TestPublisherVerdict(t *testing.T) {
	s := &Service{}
	flag := func(score float64) *imgward.Verdict {
		st := imgward.VerdictOK
		if score > 3 {
			st = imgward.VerdictFlagged
		}
		return &imgward.Verdict{Score: score, Threshold: 3, State: st}
	}
	tests := []struct {
		name      string
		prev      *imgward.Verdict
		score     float64
		fresh     bool
		wantState imgward.VerdictState
	}{
		{"first, under", nil, 1, false, imgward.VerdictOK},
		{"first, over", nil, 5, true, imgward.VerdictFlagged},
		{"was ok, over", &imgward.Verdict{State: imgward.VerdictOK}, 5, true, imgward.VerdictFlagged},
		{"stays flagged", &imgward.Verdict{State: imgward.VerdictFlagged}, 1, false, imgward.VerdictFlagged},
		{"cleared at 6, now 5", &imgward.Verdict{State: imgward.VerdictCleared, Threshold: 6}, 5, false, imgward.VerdictCleared},
		{"cleared at 6, now 7", &imgward.Verdict{State: imgward.VerdictCleared, Threshold: 6}, 7, true, imgward.VerdictFlagged},
	}
	for _, tt := range tests {
		v := flag(tt.score)
		fresh, _ := s.publisherVerdict(tt.prev, v)
		if fresh != tt.fresh || v.State != tt.wantState {
			t.Errorf("%s: fresh %v, state %s; want %v, %s", tt.name, fresh, v.State, tt.fresh, tt.wantState)
		}
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
	m := newModel("ensemble", 1, snaps, 1000)
	want := []string{"cpu", "syscalls.count", "syscalls.novel", "syscalls.nll", "syscalls.unseen6"}
	if got := m.columns(); !slices.Equal(got, want) {
		t.Fatalf("columns %v, want %v", got, want)
	}
	if len(m.Traces) != 45 {
		t.Errorf("%d traces kept, want 45", len(m.Traces))
	}
	sc, err := m.fit()
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
		{"normal trace", normal, 0, false, slices.Equal(sc.vector(normal)[3:], sc.seqTyp)}, // may be floored
		{"no calls", snap(nil), 0, false, true},
		{"histogram of usual calls", snap(&snapshot.Syscalls{Histogram: map[int32]uint64{3: 10, 5: 2}}), 0, false, true},
		{"histogram with ptrace", snap(&snapshot.Syscalls{Histogram: map[int32]uint64{3: 10, 26: 1}}), 1, true, true},
		{"usual calls, unusual order", snap(&snapshot.Syscalls{Sequence: shuffled}), 0, true, false},
	}
	sNormal := sc.surprise(sc.det.Score(sc.vector(normal)))
	for _, tc := range tests {
		x := sc.vector(tc.s)
		if len(x) != len(want) {
			t.Fatalf("%s: row %v, want %d columns", tc.name, x, len(want))
		}
		if x[2] != tc.novel {
			t.Errorf("%s: %v novel calls, want %v", tc.name, x[2], tc.novel)
		}
		if got := slices.Equal(x[3:], sc.seqTyp); got != tc.typical {
			t.Errorf("%s: sequence features %v, typical %v: equal %v, want %v", tc.name, x[3:], sc.seqTyp, got, tc.typical)
		}
		s := sc.surprise(sc.det.Score(x))
		if odd := s > sNormal+2; odd != tc.odd {
			t.Errorf("%s: surprise %.2f against a normal trace's %.2f: odd %v, want %v", tc.name, s, sNormal, odd, tc.odd)
		}
	}
	// The stored form refits the sequence model to the same features.
	odd := snap(&snapshot.Syscalls{Sequence: shuffled})
	if a, b := sc.vector(odd), refit(t, m).vector(odd); !slices.Equal(a, b) {
		t.Errorf("a stored model's row %v, the built one's %v", b, a)
	}
}

// refit fits m as stored and loaded again.
func refit(t *testing.T, m *model) *scorer {
	t.Helper()
	m2, err := unmarshalModel(m.marshal())
	if err != nil {
		t.Fatal(err)
	}
	sc, err := m2.fit()
	if err != nil {
		t.Fatal(err)
	}
	return sc
}
