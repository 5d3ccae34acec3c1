package server_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
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
// loopback HTTP, with 8 clients per core, on the embedded store: each
// release verifies a fresh identity document, spends its nonce, checks the
// instance, membership and sealed header, unwraps the data key and wraps it
// to the client's P-256 key, and audits, in one transaction. The launches
// that issue the documents run before the timer.
func BenchmarkRelease(b *testing.B) {
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
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	var next atomic.Int64
	var mu sync.Mutex
	lat := make([]time.Duration, 0, b.N)
	b.SetParallelism(8)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			body, _ := json.Marshal(map[string]any{"identity": docs[next.Add(1)-1], "image_id": x,
				"public_key": json.RawMessage(jwk)})
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
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "releases/s")
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	}
}
