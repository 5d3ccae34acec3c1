package monitor

import (
	"log/slog"
	"testing"
	"time"

	"imgward"
	"imgward/fleet"
	"imgward/snapshot"
)

// TestTrackBatch checks that the unified state gets the newest snapshot
// of each instance of a batch, whether the batch has one line per
// instance or several, in any order.
func TestTrackBatch(t *testing.T) {
	s := &Service{fleet: fleet.New(fleet.Config{}), log: slog.New(slog.DiscardHandler)}
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	line := func(id string, sec int, cpu float64) snapshot.Line {
		return snapshot.Line{Snapshot: &snapshot.Snapshot{InstanceID: imgward.InstanceID(id),
			TakenAt: at.Add(time.Duration(sec) * time.Second), Numeric: map[string]float64{"cpu": cpu}}}
	}
	refs := map[imgward.InstanceID]imgward.InstanceRef{
		"a": {ID: "a", ImageID: "img", Publisher: "p"}, "b": {ID: "b", ImageID: "img", Publisher: "p"}}
	mean := func() float64 {
		st, ok := s.fleet.Image("img")
		if !ok || len(st.Numeric) != 1 {
			t.Fatalf("image state %+v, %v", st, ok)
		}
		return st.Numeric[0].Value
	}
	s.trackBatch([]snapshot.Line{line("a", 1, 10), line("b", 1, 20)}, refs)
	if m := mean(); m != 15 {
		t.Errorf("one line per instance: mean %v, want 15", m)
	}
	s.trackBatch([]snapshot.Line{line("a", 3, 30), line("a", 2, 90), line("b", 2, 40)}, refs)
	if m := mean(); m != 35 {
		t.Errorf("a's newer line first: mean %v, want (30+40)/2", m)
	}
	s.trackBatch([]snapshot.Line{line("b", 4, 60), line("a", 4, 50), line("a", 4, 70)}, refs)
	if m := mean(); m != 65 {
		t.Errorf("a twice at one time: mean %v, want the later line's, (70+60)/2", m)
	}
}
