package introspect

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"imgward/errors"
	"imgward/snapshot"
)

// at is the time of good's snapshots: recent, as the server wants.
var at = time.Now().Add(-time.Minute).UTC()

func good() snapshot.Snapshot {
	return snapshot.Snapshot{
		InstanceID: "i-0123456789abcdef", Source: snapshot.SourceSim,
		TakenAt: at,
		Numeric: map[string]float64{"cpu.seconds": 1.5},
		Sets:    map[string][]string{"proc.names": {"nginx"}},
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
	snaps := make([]snapshot.Snapshot, snapshot.MaxBatchLines+5)
	for i := range snaps {
		snaps[i] = good()
	}
	n, err := p.Post(context.Background(), snaps)
	if err != nil || n != len(snaps) {
		t.Fatalf("Post: %d, %v", n, err)
	}
	if len(f.batches) != 2 || len(f.batches[0]) != snapshot.MaxBatchLines || len(f.batches[1]) != 5 {
		t.Fatalf("batches of %d", len(f.batches))
	}
	// Three tries of the first batch with one key, then a new key.
	if len(f.keys) != 4 || f.keys[0] != f.keys[1] || f.keys[1] != f.keys[2] || f.keys[2] == f.keys[3] || len(f.keys[0]) != 32 {
		t.Errorf("keys %q", f.keys)
	}
	back, err := snapshot.Parse([]byte(f.batches[1][0]), time.Now())
	if err != nil || back.InstanceID != snaps[0].InstanceID || !back.TakenAt.Equal(snaps[0].TakenAt) {
		t.Errorf("round trip: %+v, %v", back, err)
	}
}

func TestPosterGivesUp(t *testing.T) {
	f := &fakeServer{status: 400}
	srv := httptest.NewServer(f)
	p := &Poster{URL: srv.URL, Token: "tok", Backoff: time.Millisecond}
	_, err := p.Post(context.Background(), []snapshot.Snapshot{good()})
	if errors.KindOf(err) != errors.Invalid || !strings.Contains(err.Error(), "instance unknown") || len(f.keys) != 1 {
		t.Errorf("4xx: %v after %d tries", err, len(f.keys))
	}
	f.status = 500
	p.Attempts = 3
	_, err = p.Post(context.Background(), []snapshot.Snapshot{good()})
	if errors.KindOf(err) != errors.Unavailable || len(f.keys) != 4 {
		t.Errorf("5xx: %v after %d tries", err, len(f.keys))
	}
	srv.Close()
	_, err = p.Post(context.Background(), []snapshot.Snapshot{good()})
	if errors.KindOf(err) != errors.Unavailable {
		t.Errorf("closed: %v", err)
	}
	bad := good()
	bad.Source = "guest"
	if _, err := p.Post(context.Background(), []snapshot.Snapshot{bad}); errors.KindOf(err) != errors.Invalid {
		t.Errorf("invalid snapshot: %v", err)
	}
}
