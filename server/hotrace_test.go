package server_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"imgward"
	"imgward/snapshot"
)

// TestClusterHotRaces races the hot paths over HTTP on three nodes of one
// PostgreSQL, each request sent to every node at once: one identity
// document released by 12 requests (exactly one gets the key), and one
// batch of snapshots posted by 12 requests under one Idempotency-Key
// (exactly one ingests it; the others replay its answer, none fails). The
// store-level races are storetest.HotRaces.
func TestClusterHotRaces(t *testing.T) {
	nodes := newCluster(t, 3, nil)
	a := nodes[0]
	_, aliceTok := a.tenant("alice")
	bob, bobTok := a.tenant("bob")
	x := a.image(aliceTok, map[string]any{"imgward_protect": "full"}, []byte("cluster image"))
	a.share(aliceTok, x, bob, bobTok)

	// send posts body to path on every node from 4 goroutines each, at
	// once, and returns the answers.
	type answer struct {
		code     int
		replayed bool
		body     string
	}
	send := func(path string, header http.Header, body func() string) []answer {
		var mu sync.Mutex
		var answers []answer
		var wg sync.WaitGroup
		start := make(chan struct{})
		for g := range 12 {
			c := nodes[g%len(nodes)]
			wg.Go(func() {
				req, _ := http.NewRequest("POST", c.url+path, strings.NewReader(body()))
				req.Header = header.Clone()
				<-start
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				data, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				mu.Lock()
				answers = append(answers, answer{resp.StatusCode, resp.Header.Get("Idempotent-Replayed") == "true", string(data)})
				mu.Unlock()
			})
		}
		close(start)
		wg.Wait()
		return answers
	}

	for round := range 5 {
		_, identity := nodes[round%3].launch(bobTok, x)
		answers := send("/v1/keys/release", http.Header{"Content-Type": {"application/json"}}, func() string {
			priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			jwk, _ := json.Marshal(jose.JSONWebKey{Key: &priv.PublicKey})
			b, _ := json.Marshal(map[string]any{"identity": identity, "image_id": x, "public_key": json.RawMessage(jwk)})
			return string(b)
		})
		released := 0
		for _, r := range answers {
			switch r.code {
			case http.StatusOK:
				released++
			case http.StatusConflict, http.StatusForbidden:
			default:
				t.Errorf("release: %d %s", r.code, r.body)
			}
		}
		if released != 1 {
			t.Fatalf("round %d: one document released %d times by 12 requests on 3 nodes, want once", round, released)
		}
	}

	var p struct{ ID string }
	a.call("POST", "/v1/projects", a.admin, map[string]string{"name": "ops"}, 201, &p)
	var col struct{ Token string }
	a.call("POST", "/v1/users", a.admin, map[string]any{"name": "col", "project_id": p.ID, "role": "collector",
		"hosts": []string{"compute-1"}}, 201, &col)
	for round := range 5 {
		id, _ := nodes[round%3].launch(bobTok, x)
		line, err := snapshot.Marshal(&snapshot.Snapshot{InstanceID: imgward.InstanceID(id), TakenAt: time.Now(),
			Source: "sim", Numeric: map[string]float64{"f": 1}})
		if err != nil {
			t.Fatal(err)
		}
		answers := send("/v1/snapshots", http.Header{"Content-Type": {"application/x-ndjson"},
			"X-Auth-Token": {col.Token}, "Idempotency-Key": {"batch-" + id}}, func() string { return string(line) + "\n" })
		ingested := 0
		for _, r := range answers {
			if r.code != http.StatusOK {
				t.Errorf("ingest under one key: %d %s", r.code, r.body)
			} else if !r.replayed {
				ingested++
			}
		}
		if ingested != 1 {
			t.Fatalf("round %d: one batch ingested %d times by 12 requests under one key on 3 nodes, want once", round, ingested)
		}
	}
}
