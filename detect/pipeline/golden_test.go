package pipeline

import (
	"bytes"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"imgward/snapshot"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/")

// goldenSnapshots draws the training snapshots of the golden baseline and
// the probes it scores: numbers, sets with common and rare items, and
// system calls as sequences (for most) and histograms.
func goldenSnapshots() (train, probes []*snapshot.Snapshot) {
	rng := rand.New(rand.NewPCG(9, 9))
	trace := func(odd bool) []int32 {
		var t []int32
		for range 15 + rng.IntN(15) {
			t = append(t, 5)
			for range 1 + rng.IntN(3) {
				t = append(t, 3)
			}
			t = append(t, 4, 6)
			if odd && rng.IntN(3) == 0 {
				t = append(t, 41, 42, 44) // socket, connect, sendto
			}
		}
		return t
	}
	snap := func(i int, odd bool) *snapshot.Snapshot {
		load := 1.0
		if odd {
			load = 3
		}
		s := &snapshot.Snapshot{
			// The conversions keep the sums unfused under GOAMD64=v3, so the
			// golden rows are the same bits on every build.
			Numeric: map[string]float64{"cpu": load * (10 + float64(2*rng.NormFloat64())), "rss": 500 + float64(30*rng.NormFloat64()),
				"conns": float64(rng.IntN(4))},
			Sets: map[string][]string{"procs": {"nginx", "sshd"}, "ports": {"22", "80"}},
		}
		if i%9 == 0 {
			s.Sets["procs"] = append(s.Sets["procs"], "cron")
		}
		if odd {
			s.Sets["procs"] = append(s.Sets["procs"], "xmrig")
			s.Sets["ports"] = append(s.Sets["ports"], "6667")
		}
		switch i % 5 {
		case 0, 1, 2:
			s.Syscalls = &snapshot.Syscalls{Sequence: trace(odd)}
		case 3:
			s.Syscalls = &snapshot.Syscalls{Histogram: map[int32]uint64{3: 10, 4: 5, 5: 5, 6: 5}}
		}
		return s
	}
	for i := range 80 {
		train = append(train, snap(i, false))
	}
	for i := range 20 {
		probes = append(probes, snap(i, i%2 == 1))
	}
	return train, probes
}

// TestStoredBaselineScores pins a baseline as the service stored it
// before baselines recorded their sequence configuration
// (testdata/baseline.json, built by the code of commits 91c0df1 and
// 1fb59e6 alike) and the scores and surprises it gives
// (testdata/baseline.scores): a stored baseline must load and score the
// same whatever is moved or rewritten, and a baseline built from the same
// snapshots with the configuration of the time must be stored the same
// but for the configuration it now records.
func TestStoredBaselineScores(t *testing.T) {
	train, probes := goldenSnapshots()
	built := Build(Config{Detector: "ensemble", Seed: 1, Sequence: &legacySequence,
		Features: &TraceFeatures{CallSet: true}}, train)
	if built.Sequence == nil || !reflect.DeepEqual(*built.Sequence, legacySequence) {
		t.Errorf("the model records %+v, want %+v", built.Sequence, legacySequence)
	}
	built.Sequence = nil
	stored := golden(t, "baseline.json", built.Marshal())
	if !bytes.Equal(built.Marshal(), stored) {
		t.Error("a baseline built from the golden snapshots is stored differently")
	}
	m, err := Load(stored)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := m.Fit()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	for _, p := range probes {
		score := sc.det.Score(sc.Vector(p))
		fmt.Fprintf(&out, "%016x %016x\n", math.Float64bits(score), math.Float64bits(sc.Surprise(score)))
	}
	if want := golden(t, "baseline.scores", out.Bytes()); !bytes.Equal(out.Bytes(), want) {
		t.Errorf("the stored baseline scores differently:\ngot\n%s\nwant\n%s", out.Bytes(), want)
	}
}

// golden returns the content of testdata/name, first writing got to it
// under -update.
func golden(t *testing.T, name string, got []byte) []byte {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update to write it)", err)
	}
	return b
}
