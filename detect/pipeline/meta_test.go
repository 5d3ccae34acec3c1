package pipeline

import (
	"math"
	"slices"
	"testing"

	"imgward/snapshot"
)

// TestMetaNeverAFeature checks that numbers and sets under meta. are no
// column of a model, and that two snapshots that differ only in them get
// the same row, whatever the training snapshots' metadata.
func TestMetaNeverAFeature(t *testing.T) {
	var snaps []*snapshot.Snapshot
	for i := range 40 {
		snaps = append(snaps, &snapshot.Snapshot{
			Numeric: map[string]float64{"cpu": float64(i % 10), "meta.row": float64(i)},
			Sets:    map[string][]string{"procs": {"nginx"}, "meta.label": {"Benign"}},
		})
	}
	m := Build(Config{Detector: "ensemble", Seed: 1}, snaps)
	if got, want := m.Columns(), []string{"cpu", "procs.count", "procs.novel"}; !slices.Equal(got, want) {
		t.Fatalf("columns %v, want %v", got, want)
	}
	sc, err := m.Fit()
	if err != nil {
		t.Fatal(err)
	}
	a := sc.Vector(&snapshot.Snapshot{Numeric: map[string]float64{"cpu": 9, "meta.row": 1},
		Sets: map[string][]string{"procs": {"nginx"}, "meta.label": {"Benign"}}})
	b := sc.Vector(&snapshot.Snapshot{Numeric: map[string]float64{"cpu": 9, "meta.row": 1e9},
		Sets: map[string][]string{"procs": {"nginx"}, "meta.label": {"Malware"}, "meta.note": {"x", "y"}}})
	if !slices.Equal(a, b) {
		t.Errorf("rows %v and %v differ by metadata alone", a, b)
	}
}

// TestUncapped checks that Surprise is Uncapped capped at maxSurprise, and
// that Uncapped keeps growing past the cap as a score grows.
func TestUncapped(t *testing.T) {
	var snaps []*snapshot.Snapshot
	for i := range 60 {
		snaps = append(snaps, &snapshot.Snapshot{Numeric: map[string]float64{"cpu": float64(i % 10)}})
	}
	sc, err := Build(Config{Detector: "ensemble", Seed: 1}, snaps).Fit()
	if err != nil {
		t.Fatal(err)
	}
	prev := 0.0
	for _, cpu := range []float64{4, 50, 500, 5000, math.MaxFloat64} {
		score := sc.Score([]float64{cpu})
		u, s := sc.Uncapped(score), sc.Surprise(score)
		if s != min(maxSurprise, u) || u < prev || u > maxUncapped || math.IsNaN(u) {
			t.Errorf("cpu %v: surprise %v, uncapped %v (previous %v)", cpu, s, u, prev)
		}
		prev = u
	}
	if prev <= 2*maxSurprise {
		t.Errorf("uncapped surprise of a wild instance %v, want well past the cap %v", prev, maxSurprise)
	}
}
