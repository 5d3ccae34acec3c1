package kmstest

import (
	"context"
	"crypto/ed25519"
	"testing"

	"imgward"
	"imgward/errors"
)

// testSign checks that signatures verify with PublicKey, are bound to the
// message and the key, survive a reopen of the public key, and that
// unknown keys and oversized messages are refused.
func testSign(t *testing.T, ks imgward.KeyService) {
	ctx := context.Background()
	a, b := newKey(t, ks), newKey(t, ks)
	msg := []byte("imgward/audit\n3\nAAAA\n")
	pa, err := ks.PublicKey(ctx, a)
	if err != nil {
		t.Fatalf("PublicKey: %v", err)
	}
	pb, err := ks.PublicKey(ctx, b)
	if err != nil {
		t.Fatalf("PublicKey: %v", err)
	}
	if len(pa) != ed25519.PublicKeySize || pa.Equal(pb) {
		t.Fatalf("public keys %x and %x: want two distinct Ed25519 keys", pa, pb)
	}
	sig, err := ks.Sign(ctx, a, msg)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	if !ed25519.Verify(pa, msg, sig) {
		t.Errorf("signature does not verify with the key's public key")
	}
	if ed25519.Verify(pb, msg, sig) {
		t.Errorf("signature of key a verifies with key b")
	}
	if ed25519.Verify(pa, append(msg, 'x'), sig) {
		t.Errorf("signature verifies for another message")
	}
	again, err := ks.PublicKey(ctx, a)
	if err != nil || !again.Equal(pa) {
		t.Errorf("PublicKey again = %x, %v; want %x", again, err, pa)
	}
	if _, err := ks.Sign(ctx, NewKeyID(), msg); !errors.Is(errors.NotExist, err) {
		t.Errorf("Sign with an unknown key: %v, want NotExist", err)
	}
	if _, err := ks.PublicKey(ctx, NewKeyID()); !errors.Is(errors.NotExist, err) {
		t.Errorf("PublicKey of an unknown key: %v, want NotExist", err)
	}
	if _, err := ks.Sign(ctx, a, make([]byte, imgward.MaxSignSize+1)); !errors.Is(errors.TooLarge, err) {
		t.Errorf("Sign of an oversized message: %v, want TooLarge", err)
	}
}
