package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
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

// TestReleasePreparedRecheck checks that the unseal and unwrap done before
// the write transaction count only for the key record that the transaction
// reads: one unwrap a release when nothing changes, and a denial when the
// record changed meanwhile.
func TestReleasePreparedRecheck(t *testing.T) {
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
	ctx := context.Background()
	st := &racingStore{Store: c.svc.Store}
	keys := &countingKeys{KeyService: c.svc.Keys, st: st}
	brk := broker.New(st, blobs, keys, c.svc.Issuer, broker.WithClock(c.clock))
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
	err = release()
	if !errors.Is(errors.Permission, err) || errors.Message(err) != "sealed header key does not match the catalog" {
		t.Errorf("Release after the key record changed: %v, want the header's key mismatch", err)
	}
	if n, in := keys.unwraps.Load(), keys.inside.Load(); n != 1 || in != 0 {
		t.Errorf("%d unwraps, %d within the transaction; want the prepared one only", n, in)
	}
}
