package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"imgward/server"
	"imgward/store/storetest"
)

// BenchmarkIngest measures durable snapshot ingest over loopback HTTP:
// batches of 5,000 snapshots (24 numbers and 3 sets each) of 20,000
// tracked instances, posted by one client per core, each acknowledged only
// once committed; and the memory of the unified state per tracked
// instance, from the heap before and after the first snapshot of each.
func BenchmarkIngest(b *testing.B) {
	const instances, per = 20000, 5000
	for _, store := range server.StoreNames() {
		b.Run(store, func(b *testing.B) {
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
			e := &benchEnv{url: ts.URL, client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}}
			_, ids, col := fleetSetup(b, e, svc.Store, svc.AdminToken, instances)
			var batches []string
			for lo := 0; lo < instances; lo += per {
				batches = append(batches, snapshotBatch(ids[lo:lo+per], time.Now()))
			}
			before := heap()
			for _, body := range batches {
				e.call(b, "POST", "/v1/snapshots", col, "application/x-ndjson", body, 200, nil)
			}
			if got := svc.Monitor.Tracked(); got != instances {
				b.Fatalf("tracking %d instances, want %d", got, instances)
			}
			perInstance := float64(heap()-before) / instances
			var next atomic.Int64
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					body := batches[int(next.Add(1))%len(batches)]
					e.call(b, "POST", "/v1/snapshots", col, "application/x-ndjson", body, 200, nil)
				}
			})
			b.ReportMetric(float64(b.N*per)/time.Since(start).Seconds(), "snapshots/s")
			b.ReportMetric(perInstance, "B/instance")
		})
	}
}

// heap returns the live heap after a collection.
func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
