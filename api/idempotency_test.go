package api_test

import (
	"encoding/json"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"imgward"
	"imgward/server"
	"imgward/store/storetest"
)

// TestIdempotencyExact is issue 11's "an Idempotency-Key reused with a
// different batch silently drops the new batch": the same key with another
// body answers 422 and stores nothing, the same body still replays, and
// another collector's key of the same name is its own.
func TestIdempotencyExact(t *testing.T) {
	idempotencyExact(t, newEnvWith(t, func(*server.Config) {}))
}

// TestIdempotencyExactPostgres is the same on the store of several nodes.
func TestIdempotencyExactPostgres(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	idempotencyExact(t, newEnvWith(t, func(c *server.Config) { c.Store, c.DSN = "postgres", dsn }))
}

func idempotencyExact(t *testing.T, e *env) {
	alice := e.tenant("alice")
	col, col2 := e.collector(), e.collector()
	ids := e.launchN(alice, e.publicImage(alice, "a"), 2)
	rng := rand.New(rand.NewPCG(5, 6))
	now := time.Now()
	first := batch(behaviour(rng, ids[0], false, now))
	other := batch(behaviour(rng, ids[0], false, now), behaviour(rng, ids[1], false, now))
	count := func() int64 {
		var n int64
		e.svc.Store.View(t.Context(), func(tx imgward.Tx) error {
			recs, err := tx.LatestSnapshots(t.Context(), "", 0)
			for _, r := range recs {
				n += r.Count
			}
			return err
		})
		return n
	}
	post := func(token, body string) (code int, replayed bool, msg string) {
		t.Helper()
		r, err := newNDJSON(e.url, token, "k-1", body)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		data, _ := io.ReadAll(r.Body)
		var eb struct{ Error struct{ Message string } }
		json.Unmarshal(data, &eb)
		return r.StatusCode, r.Header.Get("Idempotent-Replayed") == "true", eb.Error.Message
	}

	if code, rep, _ := post(col, first); code != 200 || rep {
		t.Fatalf("first batch: %d, replayed %v", code, rep)
	}
	for _, tt := range []struct {
		name, token, body string
		code              int
		replayed          bool
		msg               string
		stored            int64 // snapshots counted after the request
	}{
		{"same key, same body", col, first, 200, true, "", 1},
		{"same key, another batch", col, other, 422, false, "already used with a different body", 1},
		{"same key, the body with a byte changed", col, strings.Replace(first, `"version":1`, `"version":1 `, 1), 422, false, "different body", 1},
		{"same key, empty body", col, "", 422, false, "different body", 1},
		{"same body again after the refusals", col, first, 200, true, "", 1},
		{"another collector's key of the same name", col2, other, 200, false, "", 3},
	} {
		code, rep, msg := post(tt.token, tt.body)
		if code != tt.code || rep != tt.replayed || !strings.Contains(msg, tt.msg) {
			t.Errorf("%s: %d replayed %v %q; want %d replayed %v %q", tt.name, code, rep, msg, tt.code, tt.replayed, tt.msg)
		}
		if n := count(); n != tt.stored {
			t.Errorf("%s: %d snapshots stored, want %d", tt.name, n, tt.stored)
		}
	}
}
