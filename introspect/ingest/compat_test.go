package ingest

import (
	"testing"
	"time"

	"imgward/introspect"
)

// TestIntrospectLines checks that what the collectors' encoder writes
// (package introspect) the server's parser reads: the two sides of the
// snapshot API must agree.
func TestIntrospectLines(t *testing.T) {
	at := now.Add(-time.Second)
	for _, s := range []*introspect.Snapshot{
		{Version: 1, InstanceID: "i-00000000000000ab", TakenAt: at, Source: introspect.SourceProcfs,
			Numeric: map[string]float64{"proc.count": 3, "cpu.seconds": 1.25},
			Sets:    map[string][]string{"listen.tcp": {"0.0.0.0:80"}, "exe": {"/usr/sbin/nginx"}}},
		{Version: 1, InstanceID: "i-00000000000000ab", TakenAt: at, Source: introspect.SourceDataset,
			Numeric: map[string]float64{}, Sets: map[string][]string{},
			Syscalls: &introspect.Syscalls{Sequence: []int32{3, 4, 99999}}},
		{Version: 1, InstanceID: "i-00000000000000ab", TakenAt: at, Source: introspect.SourceSim,
			Syscalls: &introspect.Syscalls{Histogram: map[string]uint64{"0": 1, "99999": 7}}},
	} {
		line, err := s.MarshalLine()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(line, now); err != nil {
			t.Errorf("%s: %v", line, err)
		}
	}
}
