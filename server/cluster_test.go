package server_test

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"imgward"
	"imgward/seal"
	"imgward/server"
	"imgward/store/storetest"
)

// newCluster starts n nodes on one PostgreSQL database and one blob
// directory, sharing master keys through a KEK file, each with its own data
// directory, as scripts/cluster.sh does with processes. Every node's admin
// token is the first node's.
func newCluster(t *testing.T, n int, set func(*server.Config)) []*cloud {
	t.Helper()
	dsn := storetest.PostgresDSN(t)
	shared := t.TempDir()
	kek := make([]byte, 32)
	crand.Read(kek)
	kekFile := filepath.Join(shared, "kek")
	if err := os.WriteFile(kekFile, []byte(base64.StdEncoding.EncodeToString(kek)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var nodes []*cloud
	for range n {
		nodes = append(nodes, newCloudWith(t, func(cfg *server.Config) {
			cfg.Store, cfg.DSN, cfg.BlobDir = "postgres", dsn, filepath.Join(shared, "blobs")
			cfg.Protection.KEKFile, cfg.Protection.Refresh = kekFile, 200*time.Millisecond
			cfg.Now = nil // leases compare the nodes' wall clocks
			if set != nil {
				set(cfg)
			}
		}))
	}
	for _, c := range nodes[1:] {
		c.admin = nodes[0].admin
	}
	return nodes
}

// rotation is the answer of POST /v1/keys/rotate.
type rotation struct {
	Version   uint32
	Rewrapped int
	Retired   []uint32
}

// TestClusterRotationProperty drives random rotations, retirements and
// protected uploads across three nodes, some rotations started on two nodes
// at once, and checks afterwards that every image's key unwraps on every
// node, that each node releases it to a bound instance, and that the
// cluster made exactly one version per successful rotation.
func TestClusterRotationProperty(t *testing.T) {
	for _, seed := range []uint64{1, 2} {
		t.Run("seed"+string(rune('0'+seed)), func(t *testing.T) { rotationProperty(t, seed) })
	}
}

func rotationProperty(t *testing.T, seed uint64) {
	nodes := newCluster(t, 3, nil)
	rng := rand.New(rand.NewPCG(seed, 0))
	_, aliceTok := nodes[0].tenant("alice")
	bob, bobTok := nodes[0].tenant("bob")
	type image struct {
		id    string
		plain []byte
	}
	var images []image
	upload := func(c *cloud) {
		plain := make([]byte, 1000+rng.IntN(4000))
		for i := range plain {
			plain[i] = byte(rng.Uint32())
		}
		id := c.image(aliceTok, map[string]any{"imgward_protect": "full"}, plain)
		c.share(aliceTok, id, bob, bobTok)
		images = append(images, image{id, plain})
	}
	version, rotations := uint32(1), 0
	rotate := func(c *cloud, retire bool) int {
		var rot rotation
		r := c.do("POST", "/v1/keys/rotate", c.admin, map[string]bool{"retire_below": retire})
		if r.code == http.StatusOK {
			json.Unmarshal(r.body, &rot)
			rotations++
			version = max(version, rot.Version)
		} else if r.code == http.StatusConflict {
			t.Logf("rotate refused: %s", r.body)
		} else {
			t.Fatalf("rotate: %d %s", r.code, r.body)
		}
		return r.code
	}
	upload(nodes[0])
	for step := range 14 {
		a := nodes[rng.IntN(3)]
		switch op := rng.IntN(4); op {
		case 0:
			upload(a)
		case 1:
			rotate(a, false)
		case 2:
			rotate(a, true)
		case 3: // two nodes at once: the lease lets one through at a time
			b := nodes[(rng.IntN(2)+1+step)%3]
			var wg sync.WaitGroup
			codes := make([]int, 2)
			for i, c := range []*cloud{a, b} {
				wg.Add(1)
				go func() { defer wg.Done(); codes[i] = rotate(c, rng.IntN(2) == 0) }()
			}
			wg.Wait()
			if codes[0] != http.StatusOK && codes[1] != http.StatusOK {
				t.Fatalf("step %d: two rotations at once both refused: %v", step, codes)
			}
		}
	}
	if version != uint32(1+rotations) {
		t.Errorf("%d rotations succeeded and the key is at v%d, want v%d", rotations, version, 1+rotations)
	}
	for _, img := range images {
		k := imageKey(t, nodes[0], img.id)
		for i, c := range nodes {
			if _, err := c.svc.Keys.Unwrap(context.Background(), k.Wrapped, []byte(img.id)); err != nil {
				t.Errorf("image %s: its key (v%d) does not unwrap on node %d: %v", img.id, k.Wrapped.Version, i+1, err)
			}
		}
		launchOn, releaseOn := nodes[rng.IntN(3)], nodes[rng.IntN(3)]
		_, identity := launchOn.launch(bobTok, img.id)
		r, key := releaseOn.release(identity, img.id)
		if r.code != http.StatusOK {
			t.Errorf("image %s: release: %d %s", img.id, r.code, r.body)
			continue
		}
		sealed := releaseOn.call("GET", "/v2/images/"+img.id+"/file", bobTok, nil, 200, nil).body
		_, sr, err := seal.NewReader(bytes.NewReader(sealed), key)
		if err != nil {
			t.Errorf("image %s: released key does not open it: %v", img.id, err)
			continue
		}
		if got, err := io.ReadAll(sr); err != nil || !bytes.Equal(got, img.plain) {
			t.Errorf("image %s: plaintext differs (%v)", img.id, err)
		}
	}
}

// TestClusterRotationLease checks that a rotation held by another node is
// refused on every node and makes no version.
func TestClusterRotationLease(t *testing.T) {
	nodes := newCluster(t, 2, nil)
	ctx := context.Background()
	err := nodes[0].svc.Store.Update(ctx, func(tx imgward.Tx) error {
		return tx.TakeLease(ctx, "rotate/imgward-images", "elsewhere", time.Now().Add(time.Hour), time.Now())
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range nodes {
		if r := c.do("POST", "/v1/keys/rotate", c.admin, nil); r.code != http.StatusConflict {
			t.Errorf("node %d: rotate while another node holds the lease: %d %s", i+1, r.code, r.body)
		}
	}
	if n := countReason(auditEntries(t, nodes[0]), "a rotation is in progress on elsewhere"); n != 2 {
		t.Errorf("%d refused rotations audited with the holder, want 2", n)
	}
	var vs []imgward.MasterKeyVersion
	nodes[1].svc.Store.View(ctx, func(tx imgward.Tx) (err error) {
		vs, err = tx.MasterKeyVersions(ctx, "imgward-images")
		return err
	})
	if len(vs) != 1 {
		t.Errorf("%d versions after refused rotations, want 1", len(vs))
	}
	nodes[0].svc.Store.Update(ctx, func(tx imgward.Tx) error { return tx.ReleaseLease(ctx, "rotate/imgward-images", "elsewhere") })
	var rot rotation
	nodes[1].call("POST", "/v1/keys/rotate", nodes[1].admin, nil, 200, &rot)
	if rot.Version != 2 {
		t.Errorf("rotation once the lease is free: v%d, want v2", rot.Version)
	}
}

// TestClusterIdentity is issue 11 §7 on three nodes: a document issued on
// node A is released on node B and refused when replayed on node C; an
// identity key rotated on B verifies on A.
func TestClusterIdentity(t *testing.T) {
	nodes := newCluster(t, 3, nil)
	a, b, c := nodes[0], nodes[1], nodes[2]
	_, aliceTok := a.tenant("alice")
	bob, bobTok := a.tenant("bob")
	x := a.image(aliceTok, map[string]any{"imgward_protect": "full"}, []byte("cluster image"))
	a.share(aliceTok, x, bob, bobTok)
	_, identity := a.launch(bobTok, x)
	if r, _ := b.release(identity, x); r.code != http.StatusOK {
		t.Fatalf("release on node B of a document issued on A: %d %s", r.code, r.body)
	}
	if r, _ := c.release(identity, x); r.code != http.StatusConflict && r.code != http.StatusForbidden {
		t.Fatalf("replay on node C: %d %s, want a refusal", r.code, r.body)
	}
	var rot struct{ KID string }
	b.call("POST", "/v1/identity/rotate", b.admin, nil, 200, &rot)
	_, id2 := b.launch(bobTok, x)
	if kid := kidOf(t, id2); kid == kidOf(t, identity) {
		t.Fatalf("node B signs with the former key %s after rotating", kid)
	}
	time.Sleep(200 * time.Millisecond) // a node reads the ring on a miss at most every 100ms
	if r, _ := a.release(id2, x); r.code != http.StatusOK {
		t.Fatalf("release on node A of a document signed with the key rotated on B: %d %s", r.code, r.body)
	}
}

// TestClusterUploadLease stops a node during an upload: its lease is no
// longer renewed, and another node returns the image to queued within a
// few lease periods, on PostgreSQL.
func TestClusterUploadLease(t *testing.T) {
	const period = 600 * time.Millisecond
	nodes := newCluster(t, 2, func(cfg *server.Config) { cfg.LeasePeriod = period })
	a, b := nodes[0], nodes[1]
	_, aliceTok := a.tenant("alice")
	x := a.create(aliceTok, nil)
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.CloseWithError(io.ErrUnexpectedEOF) }) // before the servers close
	req, _ := http.NewRequest("PUT", a.url+"/v2/images/"+x+"/file", pr)
	req.Header.Set("X-Auth-Token", aliceTok)
	req.Header.Set("Content-Type", "application/octet-stream")
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	pw.Write(make([]byte, 1<<16))
	status := func() string {
		var img struct{ Status string }
		b.call("GET", "/v2/images/"+x, aliceTok, nil, 200, &img)
		return img.Status
	}
	waitFor(t, 5*time.Second, func() bool { return status() == "saving" })
	time.Sleep(2 * period) // a live node keeps its upload
	if s := status(); s != "saving" {
		t.Fatalf("an upload in progress on a live node: image %s, want saving", s)
	}
	a.svc.Close() // node A stops: no more renewals
	start := time.Now()
	waitFor(t, 10*period, func() bool { return status() == "queued" })
	t.Logf("queued %v after node A stopped (lease period %v)", time.Since(start).Round(time.Millisecond), period)
	pw.CloseWithError(io.ErrUnexpectedEOF)
	<-done
	b.call("PUT", "/v2/images/"+x+"/file", aliceTok, []byte("again"), 204, nil)
}

func waitFor(t *testing.T, limit time.Duration, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(limit); !cond(); {
		if time.Now().After(end) {
			t.Fatalf("not so after %v", limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func countReason(es []auditEntry, reason string) int {
	n := 0
	for _, e := range es {
		if e.Reason == reason {
			n++
		}
	}
	return n
}

// stealingKeys is a KeyService whose Rotate lets another holder take the
// rotation's lease, as if the rotating node had stalled past its period.
type stealingKeys struct {
	imgward.KeyService
	st *imgward.Store
}

func (k stealingKeys) Rotate(ctx context.Context, id imgward.KeyID) (uint32, error) {
	far := time.Now().Add(24 * time.Hour)
	err := (*k.st).Update(ctx, func(tx imgward.Tx) error {
		return tx.TakeLease(ctx, "rotate/"+string(id), "thief", far.Add(time.Hour), far)
	})
	if err != nil {
		return 0, err
	}
	return k.KeyService.Rotate(ctx, id)
}

// TestRotationLeaseLost checks that a rotation whose lease another node
// took meanwhile retires nothing.
func TestRotationLeaseLost(t *testing.T) {
	var st imgward.Store
	server.KeyServices["stealing"] = func(ctx context.Context, cfg server.Config, s imgward.Store) (imgward.KeyService, error) {
		ks, err := server.KeyServices["local"](ctx, cfg, s)
		st = s
		return stealingKeys{ks, &st}, err
	}
	defer delete(server.KeyServices, "stealing")
	c := newCloudWith(t, func(cfg *server.Config) { cfg.Protection.KMS, cfg.Now = "stealing", nil })
	r := c.do("POST", "/v1/keys/rotate", c.admin, map[string]bool{"retire_below": true})
	if r.code != http.StatusConflict {
		t.Fatalf("rotate with retire after the lease was taken: %d %s, want 409", r.code, r.body)
	}
	if err := c.svc.Keys.Retire(context.Background(), "imgward-images", 1); err != nil {
		t.Errorf("version 1 was already retired by a rotation that lost its lease: %v", err)
	}
}
