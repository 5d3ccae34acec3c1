package introspect

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"imgward/errors"
)

func good() Snapshot {
	return Snapshot{
		Version: 1, InstanceID: "i-0123456789abcdef", Source: SourceSim,
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
		{"version", func(s *Snapshot) { s.Version = 2 }, errors.Invalid},
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
		{"sequence", func(s *Snapshot) { s.Syscalls.Sequence = make([]int32, MaxSequence+1) }, errors.TooLarge},
		{"both", func(s *Snapshot) { s.Syscalls.Histogram = map[string]uint64{"1": 2} }, errors.Invalid},
		{"neither", func(s *Snapshot) { s.Syscalls.Sequence = nil }, errors.Invalid},
		{"hist key", func(s *Snapshot) { s.Syscalls = &Syscalls{Histogram: map[string]uint64{"01": 1}} }, errors.Invalid},
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

func TestMarshalLine(t *testing.T) {
	s := good()
	s.Sets = nil
	line, err := s.MarshalLine()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"version":1,"instance_id":"i-0123456789abcdef","taken_at":"2026-01-02T03:04:05.000000006Z","source":"sim","numeric":{"cpu.seconds":1.5},"sets":{},"syscalls":{"sequence":[1,2,3]}}` + "\n"
	if string(line) != want {
		t.Errorf("got  %s\nwant %s", line, want)
	}
	s.Sets = map[string][]string{}
	for i := range 20 {
		s.Sets["s"+string(rune('a'+i))] = []string{strings.Repeat("z", 256), strings.Repeat("y", 256), strings.Repeat("w", 256), strings.Repeat("v", 256), strings.Repeat("u", 256)}
	}
	s.Syscalls.Sequence = make([]int32, 20000)
	if _, err := s.MarshalLine(); errors.KindOf(err) != errors.TooLarge {
		t.Errorf("oversized line: got %v", err)
	}
}

// fakeServer answers POST /v1/snapshots: it fails the first fails calls with
// 503 and records the batches and their keys.
type fakeServer struct {
	mu      sync.Mutex
	fails   int
	status  int // when set, answer every call with it
	keys    []string
	batches [][]string
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.URL.Path != "/v1/snapshots" || r.Header.Get("Content-Type") != "application/x-ndjson" || r.Header.Get("X-Auth-Token") != "tok" {
		http.Error(w, "bad request", 400)
		return
	}
	f.keys = append(f.keys, r.Header.Get("Idempotency-Key"))
	if f.status != 0 {
		w.WriteHeader(f.status)
		io.WriteString(w, `{"error":{"message":"line 1: instance unknown"}}`)
		return
	}
	if f.fails > 0 {
		f.fails--
		w.WriteHeader(503)
		return
	}
	var lines []string
	sc := bufio.NewScanner(r.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	f.batches = append(f.batches, lines)
	json.NewEncoder(w).Encode(map[string]int{"accepted": len(lines)})
}

func TestPosterRetriesWithSameKey(t *testing.T) {
	f := &fakeServer{fails: 2}
	srv := httptest.NewServer(f)
	defer srv.Close()
	p := &Poster{URL: srv.URL, Token: "tok", Backoff: time.Millisecond}
	snaps := make([]Snapshot, MaxBatchLines+5)
	for i := range snaps {
		snaps[i] = good()
	}
	n, err := p.Post(context.Background(), snaps)
	if err != nil || n != len(snaps) {
		t.Fatalf("Post: %d, %v", n, err)
	}
	if len(f.batches) != 2 || len(f.batches[0]) != MaxBatchLines || len(f.batches[1]) != 5 {
		t.Fatalf("batches of %d", len(f.batches))
	}
	// Three tries of the first batch with one key, then a new key.
	if len(f.keys) != 4 || f.keys[0] != f.keys[1] || f.keys[1] != f.keys[2] || f.keys[2] == f.keys[3] || len(f.keys[0]) != 32 {
		t.Errorf("keys %q", f.keys)
	}
	var back Snapshot
	if err := json.Unmarshal([]byte(f.batches[1][0]), &back); err != nil || back.InstanceID != snaps[0].InstanceID || !back.TakenAt.Equal(snaps[0].TakenAt) {
		t.Errorf("round trip: %+v, %v", back, err)
	}
}

func TestPosterGivesUp(t *testing.T) {
	f := &fakeServer{status: 400}
	srv := httptest.NewServer(f)
	p := &Poster{URL: srv.URL, Token: "tok", Backoff: time.Millisecond}
	_, err := p.Post(context.Background(), []Snapshot{good()})
	if errors.KindOf(err) != errors.Invalid || !strings.Contains(err.Error(), "instance unknown") || len(f.keys) != 1 {
		t.Errorf("4xx: %v after %d tries", err, len(f.keys))
	}
	f.status = 500
	p.Attempts = 3
	_, err = p.Post(context.Background(), []Snapshot{good()})
	if errors.KindOf(err) != errors.Unavailable || len(f.keys) != 4 {
		t.Errorf("5xx: %v after %d tries", err, len(f.keys))
	}
	srv.Close()
	_, err = p.Post(context.Background(), []Snapshot{good()})
	if errors.KindOf(err) != errors.Unavailable {
		t.Errorf("closed: %v", err)
	}
	bad := good()
	bad.Version = 0
	if _, err := p.Post(context.Background(), []Snapshot{bad}); errors.KindOf(err) != errors.Invalid {
		t.Errorf("invalid snapshot: %v", err)
	}
	var buf bytes.Buffer
	if err := NewEncoder(&buf).Encode(&bad); err == nil || buf.Len() != 0 {
		t.Errorf("Encoder wrote an invalid snapshot")
	}
}

// histogram returns a histogram of n distinct call numbers.
func histogram(n int) map[string]uint64 {
	h := make(map[string]uint64, n)
	for i := range n {
		h[strconv.Itoa(i)] = 1
	}
	return h
}
