package snapshot

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"imgward/errors"
)

func good() Snapshot {
	return Snapshot{
		InstanceID: "i-0123456789abcdef", Source: SourceSim,
		TakenAt:  time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
		Numeric:  map[string]float64{"cpu.seconds": 1.5},
		Sets:     map[string][]string{"proc.names": {"nginx"}},
		Syscalls: &Syscalls{Sequence: []int32{1, 2, 3}},
	}
}

func TestValidate(t *testing.T) {
	long := strings.Repeat("a", 65)
	many := map[string]float64{}
	for i := range MaxNumeric + 1 {
		many[strings.Repeat("x", i%60+1)+string(rune('a'+i/60))] = 1
	}
	for _, tc := range []struct {
		name string
		edit func(*Snapshot)
		kind errors.Kind
	}{
		{"ok", func(*Snapshot) {}, errors.Other},
		{"instance", func(s *Snapshot) { s.InstanceID = "i-A123456789abcdef" }, errors.Invalid},
		{"no time", func(s *Snapshot) { s.TakenAt = time.Time{} }, errors.Invalid},
		{"source", func(s *Snapshot) { s.Source = "guest" }, errors.Invalid},
		{"nan", func(s *Snapshot) { s.Numeric["x"] = math.NaN() }, errors.Invalid},
		{"inf", func(s *Snapshot) { s.Numeric["x"] = math.Inf(-1) }, errors.Invalid},
		{"name chars", func(s *Snapshot) { s.Numeric["CPU"] = 1 }, errors.Invalid},
		{"name long", func(s *Snapshot) { s.Sets[long] = nil }, errors.Invalid},
		{"numeric count", func(s *Snapshot) { s.Numeric = many }, errors.TooLarge},
		{"number and set", func(s *Snapshot) { s.Numeric["proc.names"] = 1 }, errors.Invalid},
		{"set items", func(s *Snapshot) { s.Sets["x"] = make([]string, MaxSetItems+1) }, errors.TooLarge},
		{"item long", func(s *Snapshot) { s.Sets["x"] = []string{strings.Repeat("b", 257)} }, errors.TooLarge},
		{"item not UTF-8", func(s *Snapshot) { s.Sets["x"] = []string{"\xff"} }, errors.Invalid},
		{"sequence", func(s *Snapshot) { s.Syscalls.Sequence = make([]int32, MaxSequence+1) }, errors.TooLarge},
		{"both", func(s *Snapshot) { s.Syscalls.Histogram = map[int32]uint64{1: 2} }, errors.Invalid},
		{"neither", func(s *Snapshot) { s.Syscalls.Sequence = nil }, errors.Invalid},
		{"hist key", func(s *Snapshot) { s.Syscalls = &Syscalls{Histogram: map[int32]uint64{-1: 1}} }, errors.Invalid},
		{"hist count", func(s *Snapshot) { s.Syscalls = &Syscalls{Histogram: map[int32]uint64{1: math.MaxUint64}} }, errors.Invalid},
		{"call number negative", func(s *Snapshot) { s.Syscalls.Sequence[1] = -1 }, errors.Invalid},
		{"call number too large", func(s *Snapshot) { s.Syscalls.Sequence[1] = MaxSyscall + 1 }, errors.Invalid},
		{"histogram at the limit", func(s *Snapshot) { s.Syscalls = &Syscalls{Histogram: histogram(MaxHistogram)} }, errors.Other},
		{"histogram over", func(s *Snapshot) { s.Syscalls = &Syscalls{Histogram: histogram(MaxHistogram + 1)} }, errors.TooLarge},
	} {
		s := good()
		tc.edit(&s)
		err := s.Validate()
		if tc.kind == errors.Other {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if errors.KindOf(err) != tc.kind {
			t.Errorf("%s: got %v, want kind %v", tc.name, err, tc.kind)
		}
	}
}

func TestMarshal(t *testing.T) {
	s := good()
	s.Sets = nil
	line, err := Marshal(&s)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"version":1,"instance_id":"i-0123456789abcdef","taken_at":"2026-01-02T03:04:05.000000006Z","source":"sim","numeric":{"cpu.seconds":1.5},"sets":{},"syscalls":{"sequence":[1,2,3]}}`
	if string(line) != want {
		t.Errorf("got  %s\nwant %s", line, want)
	}
	s.Sets = map[string][]string{}
	for i := range 20 {
		s.Sets["s"+string(rune('a'+i))] = []string{strings.Repeat("z", 256), strings.Repeat("y", 256), strings.Repeat("w", 256), strings.Repeat("v", 256), strings.Repeat("u", 256)}
	}
	s.Syscalls.Sequence = make([]int32, 20000)
	if _, err := Marshal(&s); errors.KindOf(err) != errors.TooLarge {
		t.Errorf("oversized line: got %v", err)
	}
}

// TestEncoder checks that what the collectors write the server reads back
// as it was, and that an invalid snapshot writes nothing.
func TestEncoder(t *testing.T) {
	at := now.Add(-time.Second)
	snaps := []Snapshot{
		{InstanceID: "i-00000000000000ab", TakenAt: at, Source: SourceProcfs,
			Numeric: map[string]float64{"proc.count": 3, "cpu.seconds": 1.25},
			Sets:    map[string][]string{"listen.tcp": {"0.0.0.0:80"}, "exe": {"/usr/sbin/nginx"}}},
		{InstanceID: "i-00000000000000ab", TakenAt: at, Source: SourceDataset,
			Numeric: map[string]float64{}, Sets: map[string][]string{},
			Syscalls: &Syscalls{Sequence: []int32{3, 4, 99999}}},
		{InstanceID: "i-00000000000000ab", TakenAt: at, Source: SourceSim,
			Numeric: map[string]float64{}, Sets: map[string][]string{},
			Syscalls: &Syscalls{Histogram: map[int32]uint64{0: 1, 99999: 7}}},
	}
	var buf bytes.Buffer
	enc := NewEncoder(&buf)
	for i := range snaps {
		if err := enc.Encode(&snaps[i]); err != nil {
			t.Fatal(err)
		}
	}
	bad := good()
	bad.Source = "guest"
	if err := enc.Encode(&bad); err == nil || enc.Count() != len(snaps) {
		t.Errorf("an invalid snapshot: %v, count %d", err, enc.Count())
	}
	lines, err := ParseBatch(&buf, now)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range lines {
		if diff := cmp.Diff(&snaps[i], l.Snapshot, ignoreRow); diff != "" {
			t.Errorf("line %d (-wrote +read):\n%s", i+1, diff)
		}
	}
}

// histogram returns a histogram of n distinct call numbers.
func histogram(n int) map[int32]uint64 {
	h := make(map[int32]uint64, n)
	for i := range n {
		h[int32(i)] = 1
	}
	return h
}
