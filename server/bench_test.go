package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"imgward/internal/cputime"
	"imgward/server"
	"imgward/store/storetest"
)

// benchEnv is a served imgward with one active shared image, an accepted
// member and a pending one.
type benchEnv struct {
	url, image        string
	accepted, pending string // tokens
	client            *http.Client
	// paid is an offered image, to which subscriber's project subscribed
	// (issue 13): its launches check an entitlement and are metered.
	paid, subscriber string
}

// serveBench serves a new imgward on store over loopback HTTP, quietly,
// until the benchmark ends.
func serveBench(b *testing.B, store string) (*server.Service, *httptest.Server) {
	cfg := server.Config{DataDir: b.TempDir(), Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if store == "postgres" {
		cfg.DSN = storetest.PostgresDSN(b)
	}
	svc, err := server.Open(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(svc.Handler)
	b.Cleanup(func() { ts.Close(); svc.Close() })
	return svc, ts
}

func newBenchEnv(b *testing.B, store string) *benchEnv {
	svc, ts := serveBench(b, store)
	e := &benchEnv{url: ts.URL, client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}}
	tenant := func(name string) (project, token string) {
		var p struct{ ID string }
		e.call(b, "POST", "/v1/projects", svc.AdminToken, "application/json", map[string]string{"name": name}, 201, &p)
		var u struct{ Token string }
		e.call(b, "POST", "/v1/users", svc.AdminToken, "application/json", map[string]string{"name": name, "project_id": p.ID}, 201, &u)
		return p.ID, u.Token
	}
	_, owner := tenant("owner")
	bobP, bob := tenant("bob")
	carolP, carol := tenant("carol")
	var img struct{ ID string }
	e.call(b, "POST", "/v2/images", owner, "application/json", map[string]string{"name": "bench", "disk_format": "raw", "container_format": "bare"}, 201, &img)
	e.call(b, "PUT", "/v2/images/"+img.ID+"/file", owner, "application/octet-stream", "disk", 204, nil)
	for _, m := range []string{bobP, carolP} {
		e.call(b, "POST", "/v2/images/"+img.ID+"/members", owner, "application/json", map[string]string{"member": m}, 200, nil)
	}
	e.call(b, "PUT", "/v2/images/"+img.ID+"/members/"+bobP, bob, "application/json", map[string]string{"status": "accepted"}, 200, nil)
	e.image, e.accepted, e.pending = img.ID, bob, carol
	var paid struct{ ID string }
	e.call(b, "POST", "/v2/images", owner, "application/json", map[string]string{"name": "paid", "disk_format": "raw", "container_format": "bare"}, 201, &paid)
	e.call(b, "PUT", "/v2/images/"+paid.ID+"/file", owner, "application/octet-stream", "disk", 204, nil)
	var offer struct{ ID string }
	e.call(b, "POST", "/v1/offers", owner, "application/json", map[string]any{"image_id": paid.ID, "title": "paid",
		"price": map[string]string{"amount": "0.12", "currency": "USD", "per": "hour"}}, 201, &offer)
	e.call(b, "POST", "/v1/offers/"+offer.ID+"/subscriptions", bob, "application/json", nil, 201, nil)
	e.paid, e.subscriber = paid.ID, bob
	return e
}

func (e *benchEnv) call(b testing.TB, method, path, token, ctype string, body any, want int, out any) {
	var r io.Reader
	switch v := body.(type) {
	case string:
		r = strings.NewReader(v)
	case nil:
	default:
		buf, _ := json.Marshal(v)
		r = bytes.NewReader(buf)
	}
	req, _ := http.NewRequest(method, e.url+path, r)
	req.Header.Set("X-Auth-Token", token)
	req.Header.Set("Content-Type", ctype)
	resp, err := e.client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		b.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, data)
	}
	if out != nil {
		json.Unmarshal(data, out)
	}
}

// BenchmarkLaunch measures launches (permission check, instance record
// and audit entry in one transaction) and denied launches (the check and
// the audited denial) per second over loopback HTTP, with 8 clients per
// core, on each store, and the processor time of the process (server and
// clients) per request. sqlite-noaudit is SQLite with every audit entry
// dropped (noaudit_bench_test.go): launch against it is what the audit
// costs a launch (issue 11: at most 10%).
func BenchmarkLaunch(b *testing.B) {
	registerNoAudit(b)
	for _, store := range server.StoreNames() {
		b.Run(store, func(b *testing.B) {
			e := newBenchEnv(b, store)
			run := func(b *testing.B, token string, want int, unit string) {
				image := e.image
				if token == e.subscriber && unit == "entitled/s" {
					image = e.paid
				}
				body := `{"image_id":"` + image + `","host":"hv-1"}`
				b.SetParallelism(8)
				b.ResetTimer()
				start, cpu0 := time.Now(), processCPU(b)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						e.call(b, "POST", "/v1/instances", token, "application/json", body, want, nil)
					}
				})
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), unit)
				b.ReportMetric(float64((processCPU(b)-cpu0).Microseconds())/float64(b.N), "cpu-us/op")
			}
			b.Run("launch", func(b *testing.B) { run(b, e.accepted, 201, "launches/s") })
			if store == noAudit {
				return
			}
			b.Run("denied", func(b *testing.B) { run(b, e.pending, 403, "checks/s") })
			// A subscriber's launch of a paid image: the entitlement check
			// (product code, offer, active subscription) and the metering
			// record join the launch's transaction.
			b.Run("entitled", func(b *testing.B) { run(b, e.subscriber, 201, "entitled/s") })
		})
	}
}

// processCPU is the processor time of the process: the server and the
// benchmark's clients, which share it.
func processCPU(b *testing.B) time.Duration {
	d, err := cputime.Process()
	if err != nil {
		b.Fatal(err)
	}
	return d
}
