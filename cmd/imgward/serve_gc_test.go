package main

import (
	"runtime/debug"
	"testing"
)

// TestTuneGC checks that serve sets the collector's target only when the
// environment sets none.
func TestTuneGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	for _, c := range []struct {
		gogc string
		want int
	}{
		{"", serveGCPercent},
		{"150", 150}, // the runtime applied it at start, as here
		{"off", 150},
	} {
		t.Setenv("GOGC", c.gogc)
		debug.SetGCPercent(150)
		tuneGC()
		if got := debug.SetGCPercent(100); got != c.want {
			t.Errorf("GOGC=%q: collector's target %d, want %d", c.gogc, got, c.want)
		}
	}
}
