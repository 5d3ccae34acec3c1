package api_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"imgward/keystone"
	"imgward/server"
)

// BenchmarkAuth times one authenticated request (GET /v1/whoami, served
// in process) with an imgward token and with a Keystone token already in
// the cache, in the same run, and reports the p99 of each: the cached
// Keystone path must add less than 1 ms (docs/BENCHMARKS.md). Keystone is
// a stand-in answering the two calls of the identity API, since a cached
// token never reaches it.
func BenchmarkAuth(b *testing.B) {
	ks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		exp := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		doc := map[string]any{"token": map[string]any{"expires_at": exp,
			"user":    map[string]string{"id": "a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0", "name": "alice"},
			"project": map[string]string{"id": "b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1", "name": "alice"},
			"roles":   []map[string]string{{"name": "member"}}}}
		if r.Method == "POST" {
			w.Header().Set("X-Subject-Token", "service")
			w.WriteHeader(201)
		}
		json.NewEncoder(w).Encode(doc)
	}))
	defer ks.Close()
	svc, err := server.Open(b.Context(), server.Config{DataDir: b.TempDir(), Store: "sqlite",
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		Keystone: &keystone.Config{URL: ks.URL, Username: "imgward", Password: "pw", ProjectName: "service"}})
	if err != nil {
		b.Fatal(err)
	}
	defer svc.Close()
	for _, bc := range []struct{ name, token string }{
		{"imgward-token", svc.AdminToken},
		{"keystone-cached", "gAAAAAB-a-keystone-token"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/v1/whoami", nil)
			req.Header.Set("X-Auth-Token", bc.token)
			serve := func() {
				rec := httptest.NewRecorder()
				svc.Handler.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatalf("whoami: %d %s", rec.Code, rec.Body)
				}
			}
			serve() // the first request fills the cache
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				t0 := time.Now()
				serve()
				lat = append(lat, time.Since(t0))
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}
