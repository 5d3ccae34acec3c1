package server_test

import (
	"net/http"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"imgward/server"
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
			svc, ts := serveBench(b, store)
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
