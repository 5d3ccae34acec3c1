package server_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// BenchmarkRelease measures key releases per second and their latency over
// loopback HTTP, with 8 and with 2 clients per core (16 and 4 in flight on
// 2 cores: by Little's law, 16 in flight at 2,000/s wait 8 ms on average,
// so only the smaller load can meet a p99 of 5 ms), on the embedded store: each
// release verifies a fresh identity document, spends its nonce, checks the
// instance, membership and sealed header, unwraps the data key and wraps it
// to the client's P-256 key, and audits, in one transaction. The launches
// that issue the documents run before the timer.
func BenchmarkRelease(b *testing.B) {
	for _, per := range []int{8, 2} {
		b.Run(fmt.Sprintf("clients=%dxcores", per), func(b *testing.B) { benchRelease(b, per) })
	}
}

func benchRelease(b *testing.B, perCore int) {
	c := newCloud(b)
	_, aliceTok := c.tenant("alice")
	bob, bobTok := c.tenant("bob")
	x := c.image(aliceTok, map[string]any{"imgward_protect": "full"}, make([]byte, 1<<20))
	c.share(aliceTok, x, bob, bobTok)
	docs := make([]string, b.N)
	for i := range docs {
		_, docs[i] = c.launch(bobTok, x)
	}
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwk, _ := json.Marshal(jose.JSONWebKey{Key: &priv.PublicKey})
	// The request bodies are made before the timer: the load generator's
	// JSON is not the server's work, though it shares the cores.
	bodies := make([][]byte, b.N)
	for i, doc := range docs {
		bodies[i], _ = json.Marshal(map[string]any{"identity": doc, "image_id": x, "public_key": json.RawMessage(jwk)})
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	var next atomic.Int64
	var mu sync.Mutex
	lat := make([]time.Duration, 0, b.N)
	b.SetParallelism(perCore)
	b.ResetTimer()
	start, cpu0 := time.Now(), processCPU(b)
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			body := bodies[next.Add(1)-1]
			t0 := time.Now()
			resp, err := client.Post(c.url+"/v1/keys/release", "application/json", bytes.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			mine = append(mine, time.Since(t0))
			if resp.StatusCode != 200 {
				b.Errorf("release: %d", resp.StatusCode)
				return
			}
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	elapsed, cpu := time.Since(start), processCPU(b)-cpu0
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "releases/s")
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(cpu.Microseconds())/float64(len(lat)), "cpu-us/op")
	}
}
