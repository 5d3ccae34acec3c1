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
	change func(imgward.Tx) error
}

func (s *racingStore) Update(ctx context.Context, fn func(imgward.Tx) error) error {
	if c := s.change; c != nil {
		s.change = nil
		if err := s.Store.Update(ctx, c); err != nil {
			return err
		}
	}
	return s.Store.Update(ctx, fn)
}

// countingKeys counts unwraps.
type countingKeys struct {
	imgward.KeyService
	unwraps atomic.Int32
}

func (k *countingKeys) Unwrap(ctx context.Context, w imgward.WrappedKey, ad []byte) ([]byte, error) {
	k.unwraps.Add(1)
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
	keys := &countingKeys{KeyService: c.svc.Keys}

	_, doc := c.launch(bobTok, x)
	st := &racingStore{Store: c.svc.Store}
	brk := broker.New(st, blobs, keys, c.svc.Issuer, broker.WithClock(c.clock))
	rel, err := brk.Release(ctx, broker.Request{Identity: doc, ImageID: imgward.ImageID(x), PublicKey: jwk})
	if err != nil {
		t.Fatalf("Release: %v", err)
	}
	if _, err := broker.Open(rel.Key, priv); err != nil {
		t.Fatal(err)
	}
	if n := keys.unwraps.Load(); n != 1 {
		t.Errorf("%d unwraps for one release, want 1", n)
	}

	_, doc = c.launch(bobTok, x)
	st.change = func(tx imgward.Tx) error {
		k, err := tx.ImageKey(ctx, imgward.ImageID(x))
		if err != nil {
			return err
		}
		k.Wrapped.Version++
		return tx.UpdateImageKey(ctx, k)
	}
	keys.unwraps.Store(0)
	_, err = brk.Release(ctx, broker.Request{Identity: doc, ImageID: imgward.ImageID(x), PublicKey: jwk})
	if !errors.Is(errors.Permission, err) || errors.Message(err) != "sealed header key does not match the catalog" {
		t.Errorf("Release after the key record changed: %v, want the header's key mismatch", err)
	}
	if n := keys.unwraps.Load(); n != 1 {
		t.Errorf("%d unwraps, want 1: the prepared one, then none", n)
	}
}
