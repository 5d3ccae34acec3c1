package server_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"imgward"
	"imgward/errors"
	"imgward/seal"
	"imgward/server"
	"imgward/store/storetest"
)

// faultStore is a store whose transactions fail or stall at CreateOffer
// while fault is set: the point of an offer after the sealed copy of an
// unprotected image is written and before the record switches to it.
type faultStore struct {
	imgward.Store
	fault *atomic.Pointer[func(context.Context) error]
}

func (s *faultStore) Update(ctx context.Context, fn func(imgward.Tx) error) error {
	return s.Store.Update(ctx, func(tx imgward.Tx) error { return fn(&faultTx{tx, s.fault}) })
}

type faultTx struct {
	imgward.Tx
	fault *atomic.Pointer[func(context.Context) error]
}

func (tx *faultTx) CreateOffer(ctx context.Context, o *imgward.Offer) error {
	if f := tx.fault.Load(); f != nil {
		if err := (*f)(ctx); err != nil {
			return err
		}
	}
	return tx.Tx.CreateOffer(ctx, o)
}

// registerFaultStore adds store under a new name, wrapped in a faultStore
// that fault controls, for the length of the test.
func registerFaultStore(t *testing.T, store string, fault *atomic.Pointer[func(context.Context) error]) string {
	name := store + "-fault-" + t.Name()
	open := server.Stores[store]
	server.Stores[name] = func(ctx context.Context, cfg server.Config) (imgward.Store, error) {
		st, err := open(ctx, cfg)
		if err != nil {
			return nil, err
		}
		return &faultStore{Store: st, fault: fault}, nil
	}
	t.Cleanup(func() { delete(server.Stores, name) })
	return name
}

// blobsOf lists the blob keys of image id in dir: its own and the copies
// named after it.
func blobsOf(t *testing.T, dir, id string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), id) {
			keys = append(keys, e.Name())
		}
	}
	sort.Strings(keys)
	return keys
}

// TestOfferSealing checks that sealing an unprotected image for an offer
// is all or nothing, on SQLite.
func TestOfferSealing(t *testing.T) { offerSealing(t, "sqlite", "") }

// TestOfferSealingPostgres is TestOfferSealing on PostgreSQL.
func TestOfferSealingPostgres(t *testing.T) { offerSealing(t, "postgres", storetest.PostgresDSN(t)) }

func offerSealing(t *testing.T, store, dsn string) {
	var fault atomic.Pointer[func(context.Context) error]
	blobDir := t.TempDir()
	name := registerFaultStore(t, store, &fault)
	c := newCloudWith(t, func(cfg *server.Config) { cfg.Store, cfg.DSN, cfg.BlobDir = name, dsn, blobDir })
	_, aliceTok := c.tenant("alice")
	carol, carolTok := c.tenant("carol")
	offer := func(id string) *response {
		return c.do("POST", "/v1/offers", aliceTok, map[string]any{"image_id": id, "title": "LAMP",
			"price": map[string]string{"amount": "1", "currency": "USD", "per": "hour"}})
	}
	plain := tarOf(t, rootfs(7, 200), time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	sum := md5.Sum(plain)

	t.Run("fault between blob and transaction", func(t *testing.T) {
		y := c.image(aliceTok, nil, plain)
		injected := func(context.Context) error {
			return errors.E(errors.Unavailable, errors.Msg("injected fault"))
		}
		fault.Store(&injected)
		r := offer(y)
		fault.Store(nil)
		if r.code != 503 {
			t.Fatalf("offer with a failing transaction: %d %s, want 503", r.code, r.body)
		}
		// Exactly as before: record, data, and no blob or record left over.
		var img map[string]any
		c.call("GET", "/v2/images/"+y, aliceTok, nil, 200, &img)
		if img["visibility"] != "shared" || img["imgward_protect"] != nil || img["imgward_product_code"] != nil ||
			img["checksum"] != hex.EncodeToString(sum[:]) {
			t.Errorf("image after the failed offer: %v", img)
		}
		if got := c.call("GET", "/v2/images/"+y+"/file", aliceTok, nil, 200, nil); !bytes.Equal(got.body, plain) {
			t.Error("the owner's download after the failed offer is not the plaintext")
		}
		if got := blobsOf(t, blobDir, y); len(got) != 1 || got[0] != y {
			t.Errorf("blobs after the failed offer: %v, want [%s]", got, y)
		}
		checkNoStaleBlobs(t, c)
		c.launch(aliceTok, y) // usable

		// The fault gone, the offer goes through and the plaintext goes.
		r = offer(y)
		if r.code != 201 || !strings.Contains(string(r.body), `"sealed":true`) {
			t.Fatalf("offer after the fault: %d %s", r.code, r.body)
		}
		if got := blobsOf(t, blobDir, y); len(got) != 1 || !strings.HasPrefix(got[0], y+"-s") {
			t.Errorf("blobs after the offer: %v, want one sealed copy", got)
		}
		checkNoStaleBlobs(t, c)
	})

	t.Run("concurrent downloads and offers", func(t *testing.T) {
		x := c.image(aliceTok, map[string]any{"visibility": "shared"}, plain)
		c.share(aliceTok, x, carol, carolTok)
		// The offer's transaction stays open until two downloads more have
		// completed, so that readers meet the switch for sure.
		var done atomic.Int64
		wait := func(ctx context.Context) error {
			for n, end := done.Load(), time.Now().Add(10*time.Second); done.Load() < n+2 && time.Now().Before(end); {
				time.Sleep(time.Millisecond)
			}
			return nil
		}
		fault.Store(&wait)
		defer fault.Store(nil)
		stop := make(chan struct{})
		var bodies sync.Map // sha256 → count
		var wg sync.WaitGroup
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					r := c.do("GET", "/v2/images/"+x+"/file", carolTok, nil)
					if r.code != 200 {
						t.Errorf("download during the offer: %d %s", r.code, r.body)
						return
					}
					h := sha256.Sum256(r.body)
					n, _ := bodies.LoadOrStore(h, new(atomic.Int64))
					n.(*atomic.Int64).Add(1)
					done.Add(1)
				}
			}()
		}
		codes := make([]int, 2)
		var owg sync.WaitGroup
		for i := range codes {
			owg.Add(1)
			go func() { defer owg.Done(); codes[i] = offer(x).code }()
		}
		owg.Wait()
		close(stop)
		wg.Wait()
		sort.Ints(codes)
		if codes[0] != 201 || codes[1] != 409 {
			t.Errorf("two concurrent offers of one image answered %v, want 201 and 409", codes)
		}
		sealed := c.call("GET", "/v2/images/"+x+"/file", carolTok, nil, 200, nil).body
		if !bytes.HasPrefix(sealed, []byte(seal.Magic)) {
			t.Fatal("download after the offer is not sealed")
		}
		want := map[[32]byte]string{sha256.Sum256(plain): "plaintext", sha256.Sum256(sealed): "sealed"}
		seen := map[string]int64{}
		bodies.Range(func(k, v any) bool {
			seen[want[k.([32]byte)]] += v.(*atomic.Int64).Load()
			return true
		})
		if seen[""] != 0 || seen["plaintext"] < 2 {
			t.Errorf("downloads during the offer: %v; want none but plaintext (at least 2) and sealed", seen)
		}
		t.Logf("downloads during the offer: %v", seen)
		if got := blobsOf(t, blobDir, x); len(got) != 1 || !strings.HasPrefix(got[0], x+"-s") {
			t.Errorf("blobs after the offers: %v, want one sealed copy", got)
		}
		checkNoStaleBlobs(t, c)
	})
}

// checkNoStaleBlobs checks that no stale-blob record is left.
func checkNoStaleBlobs(t *testing.T, c *cloud) {
	t.Helper()
	err := c.svc.Store.View(context.Background(), func(tx imgward.Tx) error {
		bs, err := tx.StaleBlobs(context.Background(), 10)
		if err == nil && len(bs) != 0 {
			t.Errorf("stale blob records left: %+v", bs)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestOfferSealCrash kills the server between writing the sealed copy of
// an offered image and the transaction that switches to it: the next
// start removes the copy, and the image is as it was.
func TestOfferSealCrash(t *testing.T) {
	dir := t.TempDir()
	ch := startChildWith(t, dir, "sqlite-stall")
	token, err := os.ReadFile(filepath.Join(dir, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	c := &cloud{t: t, url: ch.url, admin: strings.TrimSpace(string(token)), now: time.Now()}
	_, aliceTok := c.tenant("alice")
	plain := tarOf(t, rootfs(8, 100), time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	x := c.image(aliceTok, nil, plain)
	go func() {
		// Killed with the child: no answer is expected.
		req, _ := http.NewRequest("POST", ch.url+"/v1/offers", strings.NewReader(
			`{"image_id":"`+x+`","title":"LAMP","price":{"amount":"1","currency":"USD","per":"hour"}}`))
		req.Header.Set("X-Auth-Token", aliceTok)
		req.Header.Set("Content-Type", "application/json")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	blobDir := filepath.Join(dir, "blobs")
	for deadline := time.Now().Add(30 * time.Second); len(blobsOf(t, blobDir, x)) < 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no sealed copy written: %v", blobsOf(t, blobDir, x))
		}
	}
	ch.cmd.Process.Kill()
	ch.cmd.Wait()

	c = newCloudWith(t, func(cfg *server.Config) { cfg.DataDir = dir })
	if got := blobsOf(t, blobDir, x); len(got) != 1 || got[0] != x {
		t.Errorf("blobs after the restart: %v, want [%s]", got, x)
	}
	checkNoStaleBlobs(t, c)
	var img map[string]any
	c.call("GET", "/v2/images/"+x, aliceTok, nil, 200, &img)
	if img["imgward_protect"] != nil || img["imgward_product_code"] != nil {
		t.Errorf("image after the crash: %v", img)
	}
	if got := c.call("GET", "/v2/images/"+x+"/file", aliceTok, nil, 200, nil); !bytes.Equal(got.body, plain) {
		t.Error("the owner's download after the crash is not the plaintext")
	}
	c.call("POST", "/v1/offers", aliceTok, map[string]any{"image_id": x, "title": "LAMP",
		"price": map[string]string{"amount": "1", "currency": "USD", "per": "hour"}}, 201, nil)
}

// stallOffers is the store of a child started with store "sqlite-stall":
// every offer's transaction stalls until the process is killed.
func stallOffers() {
	var stall atomic.Pointer[func(context.Context) error]
	f := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	stall.Store(&f)
	open := server.Stores["sqlite"]
	server.Stores["sqlite-stall"] = func(ctx context.Context, cfg server.Config) (imgward.Store, error) {
		st, err := open(ctx, cfg)
		if err != nil {
			return nil, err
		}
		return &faultStore{Store: st, fault: &stall}, nil
	}
}
