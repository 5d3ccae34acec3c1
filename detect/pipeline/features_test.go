package pipeline

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"imgward/detect"
	"imgward/snapshot"
)

// vectorByName is Vector as it was before the model's names were resolved
// to columns once: every model feature looked up by name.
func vectorByName(sc *Scorer, s *snapshot.Snapshot) []float64 {
	m := sc.m
	x := make([]float64, len(m.Numeric)+2*len(m.Sets))
	for i, n := range m.Numeric {
		x[i] = s.Numeric[n]
	}
	for n, items := range m.setsOf(s) {
		i := slices.Index(m.Sets, n)
		if i < 0 {
			continue
		}
		items = slices.Compact(slices.Sorted(slices.Values(items)))
		novel := 0
		for _, it := range items {
			if !slices.Contains(m.Vocab[n], it) {
				novel++
			}
		}
		x[len(m.Numeric)+2*i], x[len(m.Numeric)+2*i+1] = float64(len(items)), float64(novel)
	}
	if sc.seq != nil {
		if t := sequenceOf(s); t != nil {
			return sc.seq.Features(t, x)
		}
		x = append(x, sc.seqTyp...)
	}
	return x
}

// fresh returns a copy of s whose names are new strings, as a source that
// does not reuse its names sends them, with an extra number and set that
// the model does not know, and a set given unsorted and with repeats.
func fresh(s *snapshot.Snapshot) *snapshot.Snapshot {
	c := *s
	c.Numeric = map[string]float64{"not.in.model": 7}
	for n, v := range s.Numeric {
		c.Numeric[strings.Clone(n)] = v
	}
	c.Sets = map[string][]string{"nor.this": {"a"}}
	for n, items := range s.Sets {
		items = slices.Clone(items)
		slices.Reverse(items)
		c.Sets[strings.Clone(n)] = append(items, items...)
	}
	return &c
}

// rows returns copies of snaps whose numbers are a snapshot.NumericRow: in
// one order whose names slice all of them share (shared), as a replayed
// table's rows do, or each in its own slice, as decoded lines are. Each has
// a name the model lacks, and the last one's Numeric grows after the view
// was taken, which drops it.
func rows(snaps []*snapshot.Snapshot, shared bool) []*snapshot.Snapshot {
	names := []string{"not.in.model"}
	for _, s := range snaps {
		for n := range s.Numeric {
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	slices.Sort(names)
	var out []*snapshot.Snapshot
	for i, s := range snaps {
		c := *s
		ns := names
		if !shared {
			ns = slices.Clone(names)
		}
		values := make([]float64, len(ns))
		for k, n := range ns {
			values[k] = s.Numeric[n] + float64(i%3)
		}
		c.SetNumeric(ns, values)
		out = append(out, &c)
	}
	out[len(out)-1].Numeric["grown"] = 1
	return out
}

// TestVectorResolvesNames checks that featurising by the columns resolved
// once (Vector, and ScoreAll's batches) gives the rows, and so the scores,
// that looking every feature up by name gives: for snapshots whose names
// are the strings the cache has met, new strings of the same names, numbers
// given as a NumericRow (shared and not), names the model lacks, metadata,
// the sets of system calls in every form, and with a cache that is full and
// no longer learns.
func TestVectorResolvesNames(t *testing.T) {
	train, probes := goldenSnapshots()
	m := Build(Config{Detector: "ensemble", Seed: 1}, train)
	sc, err := m.Fit()
	if err != nil {
		t.Fatal(err)
	}
	var snaps []*snapshot.Snapshot
	for range 5 { // more than a chunk, so that ScoreAll reuses its rows
		for _, p := range append(probes, train...) {
			snaps = append(snaps, p, fresh(p))
		}
	}
	snaps = append(snaps, rows(snaps[:20], true)...)
	snaps = append(snaps, rows(snaps[:20], false)...)
	seq := &snapshot.Syscalls{Sequence: []int32{5, 3, 3, 4, 6, 41, 5}}
	snaps = append(snaps, &snapshot.Snapshot{}, &snapshot.Snapshot{Numeric: map[string]float64{"procs": 3},
		Sets: map[string][]string{"cpu": {"x"}}}, // nothing, and names of the other kind
		&snapshot.Snapshot{Sets: map[string][]string{"meta.label": {"Malware"}, "procs": {"sshd"}}, Syscalls: seq},
		&snapshot.Snapshot{Sets: map[string][]string{"syscalls": nil}, Syscalls: seq},
		&snapshot.Snapshot{Sets: map[string][]string{"syscalls": {"3", "999", "3"}}, Syscalls: seq},
		&snapshot.Snapshot{Sets: map[string][]string{"syscalls": nil}, Syscalls: &snapshot.Syscalls{}},
		&snapshot.Snapshot{Syscalls: &snapshot.Syscalls{Sequence: []int32{-1, 100000, 3, 3, -1, 63, 64},
			Histogram: map[int32]uint64{3: 1, 7: 0, 100000: 2, 12345: 1}}}) // unvalidated numbers too
	full := newNameCache(1)
	for i := range full.max {
		full.lookup(&sc.idx, strings.Repeat("x", i+1))
	}
	if !full.full() {
		t.Fatal("the cache is not full")
	}
	var want [][]float64
	for i, s := range snaps {
		want = append(want, vectorByName(sc, s))
		if got := sc.Vector(s); !equalBits(got, want[i]) {
			t.Errorf("snapshot %d: Vector %v, by name %v", i, got, want[i])
		}
		x := make([]float64, sc.width(), sc.width()+len(sc.seqTyp))
		if got := sc.vector(x, s, full); !equalBits(got, want[i]) {
			t.Errorf("snapshot %d: with a full cache %v, by name %v", i, got, want[i])
		}
	}
	wantScores := make([]float64, len(want))
	detect.ScoreBatch(sc.det, want, wantScores)
	for _, workers := range []int{1, 3} {
		got, err := sc.ScoreAll(context.Background(), snaps, workers)
		if err != nil {
			t.Fatal(err)
		}
		if !equalBits(got, wantScores) {
			t.Errorf("ScoreAll on %d workers: %v, want %v", workers, got, wantScores)
		}
	}
}

func equalBits(a, b []float64) bool {
	return slices.EqualFunc(a, b, func(x, y float64) bool { return math.Float64bits(x) == math.Float64bits(y) })
}
