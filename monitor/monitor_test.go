package monitor

import (
	"math"
	"testing"

	"imgward"
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
	var snaps []*imgward.Snapshot
	for i := range 100 {
		s := &imgward.Snapshot{Numeric: map[string]float64{"cpu": float64(i % 10)},
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
	normal := sc.vector(&imgward.Snapshot{Numeric: map[string]float64{"cpu": 4}, Sets: map[string][]string{"procs": {"sshd", "nginx", "nginx"}}})
	odd := sc.vector(&imgward.Snapshot{Numeric: map[string]float64{"cpu": 90}, Sets: map[string][]string{"procs": {"nginx", "xmrig", "rare"}}})
	if normal[1] != 2 || normal[2] != 0 || odd[2] != 2 {
		t.Errorf("vectors %v %v: want 2 distinct items, 0 and 2 novel", normal, odd)
	}
	sn, so := sc.surprise(sc.det.Score(normal)), sc.surprise(sc.det.Score(odd))
	if !(so > sn) || so < math.Log(51) {
		t.Errorf("surprise normal %v, odd %v: want odd beyond the empirical cap ln 51", sn, so)
	}
	// The stored form refits to the same scores.
	m2, err := unmarshalModel(m.marshal())
	if err != nil {
		t.Fatal(err)
	}
	sc2, err := m2.fit()
	if err != nil {
		t.Fatal(err)
	}
	if sc2.det.Score(odd) != sc.det.Score(odd) {
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
