package server_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"imgward"
	"imgward/broker"
	"imgward/identity"
)

// spentVerifier is an identity.Verifier that records the tokens it is told
// are spent (identity.Spent), before passing them on.
type spentVerifier struct {
	*identity.Issuer
	mu    sync.Mutex
	spent []string
}

func (v *spentVerifier) Redeemed(token string) {
	v.mu.Lock()
	v.spent = append(v.spent, token)
	v.mu.Unlock()
	v.Issuer.Redeemed(token)
}

// TestReleaseTellsSpent checks that the broker tells its verifier of every
// document whose nonce a release committed spent, granted or denied, so
// that the issuer's cache of signed documents forgets it; and of none
// refused before its transaction.
func TestReleaseTellsSpent(t *testing.T) {
	r := newReleaseRig(t)
	ctx := context.Background()
	v := &spentVerifier{Issuer: r.c.svc.Issuer}
	brk := broker.New(r.st, r.blobs, r.keys, v, broker.WithClock(r.c.clock))
	_, doc := r.c.launch(r.bobTok, r.x)
	req := broker.Request{Identity: doc, ImageID: imgward.ImageID(r.x), PublicKey: r.jwk}
	for i, tc := range []struct {
		req       broker.Request
		granted   bool
		wantSpent int
	}{
		{req: broker.Request{Identity: doc, ImageID: req.ImageID, PublicKey: []byte(`{}`)}, wantSpent: 0}, // refused before the transaction
		{req: req, granted: true, wantSpent: 1},
		{req: req, wantSpent: 2}, // the replay is denied in its transaction
	} {
		_, err := brk.Release(ctx, tc.req)
		if (err == nil) != tc.granted {
			t.Fatalf("release %d: %v, want granted %v", i, err, tc.granted)
		}
		v.mu.Lock()
		n := len(v.spent)
		v.mu.Unlock()
		if n != tc.wantSpent || n > 0 && v.spent[n-1] != doc {
			t.Errorf("release %d: told of %d spent documents, want %d of this one", i, n, tc.wantSpent)
		}
	}
	// Forgotten, the document is verified by signature, and still valid.
	if _, err := r.c.svc.Issuer.Verify(doc, r.c.clock().Add(time.Second)); err != nil {
		t.Errorf("Verify after the release: %v", err)
	}
}
