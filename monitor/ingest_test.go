package monitor

import (
	"log/slog"
	"testing"
	"time"

	"imgward"
	"imgward/fleet"
	"imgward/snapshot"
)

// TestTrackBatch checks that the unified state gets the last received
// snapshot of each instance, whatever its taken_at: the last line of a
// batch, and of batches the one committed last (the higher number), even
// when batches are folded out of order.
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
	tests := []struct {
		name  string
		lines []snapshot.Line
		seq   uint64
		want  float64
	}{
		{"one line per instance", []snapshot.Line{line("a", 1, 10), line("b", 1, 20)}, 1, 15},
		{"a's later line dated earlier", []snapshot.Line{line("a", 3, 30), line("a", 2, 90), line("b", 2, 40)}, 2, (90 + 40) / 2},
		{"a twice at one time", []snapshot.Line{line("b", 4, 60), line("a", 4, 50), line("a", 4, 70)}, 4, (70 + 60) / 2},
		{"an earlier batch folded late", []snapshot.Line{line("a", 9, 0), line("b", 9, 0)}, 3, (70 + 60) / 2},
		{"dated in the past, received last", []snapshot.Line{line("a", 0, 20), line("b", 0, 40)}, 5, 30},
	}
	for _, tt := range tests {
		s.trackBatch(tt.lines, refs, tt.seq)
		if m := mean(); m != tt.want {
			t.Errorf("%s: mean %v, want %v", tt.name, m, tt.want)
		}
	}
}
