package api_test

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"imgward"
	"imgward/monitor"
)

// TestSnapshotsIngest checks POST /v1/snapshots: roles, media type, size,
// a bad line failing the whole batch, unknown and terminated instances,
// and idempotent retries.
func TestSnapshotsIngest(t *testing.T) {
	e := newDetectEnv(t, monitor.Config{})
	alice := e.tenant("alice")
	col := e.collector()
	img := e.publicImage(alice, "a")
	ids := e.launchN(alice, img, 3)
	var in instanceJSON
	e.do("DELETE", "/v1/instances/"+ids[2], alice.token, nil, 200, &in)
	rng := rand.New(rand.NewPCG(3, 4))
	now := time.Now()
	good := func(i int) string { return behaviour(rng, ids[i], false, now) }
	count := func(id string) int64 {
		var n int64
		e.svc.Store.View(t.Context(), func(tx imgward.Tx) error {
			recs, err := tx.LatestSnapshots(t.Context(), "", 0)
			for _, r := range recs {
				if string(r.InstanceID) == id {
					n = r.Count
				}
			}
			return err
		})
		return n
	}

	tests := []struct {
		name, token, body string
		want              int
		msg               string
	}{
		{"member", alice.token, batch(good(0)), 403, "collector or admin"},
		{"bad second line", col, batch(good(0), `{"version":1}`), 400, "line 2: "},
		{"unknown instance", col, batch(good(0), strings.Replace(good(1), ids[1], "i-00000000deadbeef", 1)), 400, "line 2: unknown instance"},
		{"terminated", col, batch(good(2)), 400, "line 1: instance " + ids[2] + " is terminated"},
		{"empty", col, "\n", 400, "no snapshot"},
		{"number and set", col, batch(good(0), strings.Replace(good(1), `"numeric":{`, `"numeric":{"ports":2,`, 1)), 400,
			"line 2: ports is both a numeric feature and a set"},
		{"admin", e.admin, batch(good(1)), 200, ""},
	}
	for _, tt := range tests {
		body := e.post(tt.token, "", tt.body, tt.want)
		if !strings.Contains(body, tt.msg) {
			t.Errorf("%s: body %s, want %q", tt.name, body, tt.msg)
		}
	}
	if n := count(ids[0]); n != 0 {
		t.Errorf("rejected batches stored %d snapshots of instance 0", n)
	}
	resp := e.raw("POST", "/v1/snapshots", col, "application/json", strings.NewReader(batch(good(0))))
	resp.Body.Close()
	if resp.StatusCode != 415 {
		t.Errorf("JSON media type: %d, want 415", resp.StatusCode)
	}
	big := good(0) + strings.Repeat("\n", 16<<20) // blank lines count toward the size

	if body := e.post(col, "", big, 413); !strings.Contains(body, "16 MiB") {
		t.Errorf("over 16 MiB: %s", body)
	}

	// A retry with the same key is answered, not counted again.
	two := batch(good(0), good(0))
	first := e.post(col, "batch-1", two, 200)
	r, err := newNDJSON(e.url, col, "batch-1", two)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 200 || r.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("retry: %d, replayed %q", r.StatusCode, r.Header.Get("Idempotent-Replayed"))
	}
	if first != `{"accepted":2}`+"\n" {
		t.Errorf("first answer %q", first)
	}
	if n := count(ids[0]); n != 2 {
		t.Errorf("instance 0 counted %d snapshots after a retried batch of 2, want 2", n)
	}
	e.post(col, "batch-2", batch(good(0)), 200) // a new key is a new batch
	if n := count(ids[0]); n != 3 {
		t.Errorf("instance 0 counted %d snapshots, want 3", n)
	}
	e.post(col, strings.Repeat("k", 129), batch(good(0)), 400)
}
