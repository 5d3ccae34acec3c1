package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"sync/atomic"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"imgward"
	"imgward/blob"
	"imgward/broker"
	"imgward/errors"
	"imgward/server"
)

// racingStore runs change before the first Update it is given: a key
// record rewritten between the broker's preparation of a release and its
// write transaction.
type racingStore struct {
	imgward.Store
	change   func(imgward.Tx) error
	inUpdate atomic.Bool
}

func (s *racingStore) Update(ctx context.Context, fn func(imgward.Tx) error) error {
	if c := s.change; c != nil {
		s.change = nil
		if err := s.Store.Update(ctx, c); err != nil {
			return err
		}
	}
	s.inUpdate.Store(true)
	defer s.inUpdate.Store(false)
	return s.Store.Update(ctx, fn)
}

// countingKeys counts unwraps, and those made within the store's Update.
type countingKeys struct {
	imgward.KeyService
	st              *racingStore
	unwraps, inside atomic.Int32
}

func (k *countingKeys) Unwrap(ctx context.Context, w imgward.WrappedKey, ad []byte) ([]byte, error) {
	k.unwraps.Add(1)
	if k.st.inUpdate.Load() {
		k.inside.Add(1)
	}
	return k.KeyService.Unwrap(ctx, w, ad)
}

// releaseRig is a cloud where Alice shares protected image x with Bob, and
// brokers of its own over the cloud's store and keys, counting unwraps.
type releaseRig struct {
	c        *cloud
	x        string
	aliceTok string
	bobTok   string
	blobs    imgward.BlobStore
	st       *racingStore
	keys     *countingKeys
	priv     *ecdsa.PrivateKey
	jwk      []byte
}

func newReleaseRig(t *testing.T) *releaseRig {
	t.Helper()
	var dir string
	c := newCloudWith(t, func(cfg *server.Config) { dir = cfg.DataDir })
	_, aliceTok := c.tenant("alice")
	bob, bobTok := c.tenant("bob")
	x := c.image(aliceTok, map[string]any{"imgward_protect": "full"}, make([]byte, 1<<16))
	c.share(aliceTok, x, bob, bobTok)
	blobs, err := blob.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwk, _ := json.Marshal(jose.JSONWebKey{Key: &priv.PublicKey})
	st := &racingStore{Store: c.svc.Store}
	return &releaseRig{c: c, x: x, aliceTok: aliceTok, bobTok: bobTok, blobs: blobs, st: st,
		keys: &countingKeys{KeyService: c.svc.Keys, st: st}, priv: priv, jwk: jwk}
}

// broker returns a new broker, as another node would have.
func (r *releaseRig) broker() *broker.Broker {
	return broker.New(r.st, r.blobs, r.keys, r.c.svc.Issuer, broker.WithClock(r.c.clock))
}

// TestReleasePreparedRecheck checks that the unseal and unwrap done before
// the write transaction count only for the key record that the transaction
// reads: one unwrap a release when nothing changes, and a denial when the
// record changed meanwhile.
func TestReleasePreparedRecheck(t *testing.T) {
	r := newReleaseRig(t)
	c, x, bobTok, st, keys, priv, jwk := r.c, r.x, r.bobTok, r.st, r.keys, r.priv, r.jwk
	ctx := context.Background()
	brk := r.broker()
	release := func() error {
		_, doc := c.launch(bobTok, x)
		keys.unwraps.Store(0)
		keys.inside.Store(0)
		rel, err := brk.Release(ctx, broker.Request{Identity: doc, ImageID: imgward.ImageID(x), PublicKey: jwk})
		if err == nil {
			if _, err := broker.Open(rel.Key, priv); err != nil {
				t.Fatal(err)
			}
		}
		return err
	}
	// The first release of an image unwraps in its transaction; the next
	// ones beforehand, for the key record the one before read.
	for i, wantInside := range []int32{1, 0, 0} {
		if err := release(); err != nil {
			t.Fatalf("release %d: %v", i, err)
		}
		if n, in := keys.unwraps.Load(), keys.inside.Load(); n != 1 || in != wantInside {
			t.Errorf("release %d: %d unwraps, %d within the transaction; want 1, %d", i, n, in, wantInside)
		}
	}
	st.change = func(tx imgward.Tx) error {
		k, err := tx.ImageKey(ctx, imgward.ImageID(x))
		if err != nil {
			return err
		}
		// Behind the header's version, which no rotation does: a
		// rotation moves a record forward, and the header may lag.
		k.Wrapped.Version--
		return tx.UpdateImageKey(ctx, k)
	}
	err := release()
	if !errors.Is(errors.Permission, err) || errors.Message(err) != "sealed header key does not match the catalog" {
		t.Errorf("Release after the key record changed: %v, want the header's key mismatch", err)
	}
	if n, in := keys.unwraps.Load(), keys.inside.Load(); n != 1 || in != 0 {
		t.Errorf("%d unwraps, %d within the transaction; want the prepared one only", n, in)
	}
}

// TestReleaseReplayUnwrapsNothing checks that a replayed identity document
// is refused without a KMS unwrap by the broker that saw it spent, and with
// at most one by another node's broker, which learns it from the store.
func TestReleaseReplayUnwrapsNothing(t *testing.T) {
	r := newReleaseRig(t)
	c, x, bobTok, keys := r.c, r.x, r.bobTok, r.keys
	node1, node2 := r.broker(), r.broker()
	release := func(b *broker.Broker, doc string) error {
		_, err := b.Release(context.Background(), broker.Request{Identity: doc, ImageID: imgward.ImageID(x), PublicKey: r.jwk})
		return err
	}
	// Warm node2's key hint, so that it would prepare a document it had
	// not seen spent.
	_, other := c.launch(bobTok, x)
	if err := release(node2, other); err != nil {
		t.Fatal(err)
	}
	_, doc := c.launch(bobTok, x)
	if err := release(node1, doc); err != nil {
		t.Fatal(err)
	}
	for i, tc := range []struct {
		node        *broker.Broker
		wantUnwraps int32
	}{
		{node1, 0}, // node1 spent it
		{node1, 0},
		{node2, 1}, // node2 learns it from the store, once
		{node2, 0},
	} {
		keys.unwraps.Store(0)
		err := release(tc.node, doc)
		if !errors.Is(errors.Permission, err) || errors.Message(err) != "identity document already used" {
			t.Errorf("replay %d: %v, want already used", i, err)
		}
		if n := keys.unwraps.Load(); n != tc.wantUnwraps {
			t.Errorf("replay %d: %d unwraps, want %d", i, n, tc.wantUnwraps)
		}
	}
}

// countingBlobs counts the opens of image data: a sealed header read.
type countingBlobs struct {
	imgward.BlobStore
	opens atomic.Int32
}

func (b *countingBlobs) Open(ctx context.Context, key string) (io.ReadSeekCloser, int64, error) {
	b.opens.Add(1)
	return b.BlobStore.Open(ctx, key)
}

// TestReleaseVerifiedHeader checks the broker's memory of a sealed header
// it has verified: later releases of the image read it no more (they still
// unwrap, once each), a rotation of the key record or a new blob of the
// image makes it read and check the header again, and a blob that changed
// under a record verified before is refused.
func TestReleaseVerifiedHeader(t *testing.T) {
	r := newReleaseRig(t)
	c, x, bobTok, st, keys := r.c, r.x, r.bobTok, r.st, r.keys
	ctx := context.Background()
	blobs := &countingBlobs{BlobStore: r.blobs}
	brk := broker.New(st, blobs, keys, c.svc.Issuer, broker.WithClock(c.clock))
	release := func(what string, wantOpens int32) error {
		t.Helper()
		_, doc := c.launch(bobTok, x)
		keys.unwraps.Store(0)
		blobs.opens.Store(0)
		rel, err := brk.Release(ctx, broker.Request{Identity: doc, ImageID: imgward.ImageID(x), PublicKey: r.jwk})
		if err == nil {
			if _, err := broker.Open(rel.Key, r.priv); err != nil {
				t.Fatal(err)
			}
		}
		if n := blobs.opens.Load(); n != wantOpens {
			t.Errorf("%s: %d header reads, want %d", what, n, wantOpens)
		}
		return err
	}
	for i, want := range []int32{1, 0, 0} {
		if err := release(fmt.Sprintf("release %d", i), want); err != nil {
			t.Fatalf("release %d: %v", i, err)
		}
		if n := keys.unwraps.Load(); n != 1 {
			t.Errorf("release %d: %d unwraps, want 1", i, n)
		}
	}

	// A rotation re-wraps the record: the header is checked again, once.
	c.call("POST", "/v1/keys/rotate", c.admin, nil, 200, nil)
	for i, want := range []int32{1, 0} {
		if err := release(fmt.Sprintf("release %d after rotation", i), want); err != nil {
			t.Fatalf("release %d after rotation: %v", i, err)
		}
	}

	// The image's data moves to a blob that holds another image's sealed
	// bytes, under the same key record: the header is read again and
	// refused, though the record is the one verified before.
	y := c.image(r.aliceTok, map[string]any{"imgward_protect": "full"}, make([]byte, 1<<10))
	var yBlob string
	err := c.svc.Store.View(ctx, func(tx imgward.Tx) error {
		img, err := tx.Image(ctx, imgward.ImageID(y))
		if err == nil {
			yBlob = img.BlobKey()
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	yData, _, err := r.blobs.Open(ctx, yBlob)
	if err != nil {
		t.Fatal(err)
	}
	defer yData.Close()
	if _, err := r.blobs.Put(ctx, "moved-"+x, yData, 1<<20); err != nil {
		t.Fatal(err)
	}
	st.change = func(tx imgward.Tx) error {
		img, err := tx.Image(ctx, imgward.ImageID(x))
		if err != nil {
			return err
		}
		img.Blob = "moved-" + x
		return tx.UpdateImage(ctx, img)
	}
	err = release("release after the blob moved", 1)
	if !errors.Is(errors.Permission, err) || errors.Message(err) != "sealed image binding names another image or owner" {
		t.Errorf("release after the blob moved: %v, want the binding refused", err)
	}
}
