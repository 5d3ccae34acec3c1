// Package kmstest is the conformance suite of imgward.KeyService: every
// backend runs it, so that all behave alike.
package kmstest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"

	"imgward"
	"imgward/errors"
)

// Run runs the suite. newKS returns a KeyService for one subtest; it may
// share its key store with other subtests, since each subtest uses key ids
// of its own. newKS closes the service when t ends.
func Run(t *testing.T, newKS func(t *testing.T) imgward.KeyService) {
	tests := []struct {
		name string
		fn   func(*testing.T, imgward.KeyService)
	}{
		{"RoundTrip", testRoundTrip},
		{"CreateKey", testCreateKey},
		{"WrongAD", testWrongAD},
		{"Tampered", testTampered},
		{"Rotate", testRotate},
		{"Retire", testRetire},
		{"UnknownKey", testUnknownKey},
		{"Canceled", testCanceled},
		{"Concurrent", testConcurrent},
		{"Sign", testSign},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newKS(t)) })
	}
}

// NewKeyID returns a fresh key id, so that tests sharing a key store do not
// collide.
func NewKeyID() imgward.KeyID {
	b := make([]byte, 8)
	rand.Read(b)
	return imgward.KeyID("test-" + hex.EncodeToString(b))
}

// newKey creates a fresh key in ks.
func newKey(t *testing.T, ks imgward.KeyService) imgward.KeyID {
	t.Helper()
	id := NewKeyID()
	if err := ks.CreateKey(context.Background(), id); err != nil {
		t.Fatalf("CreateKey(%s): %v", id, err)
	}
	return id
}

// generate returns a new data key of id bound to ad, and its wrap.
func generate(t *testing.T, ks imgward.KeyService, id imgward.KeyID, ad string) ([]byte, imgward.WrappedKey) {
	t.Helper()
	dk, w, err := ks.GenerateDataKey(context.Background(), id, []byte(ad))
	if err != nil {
		t.Fatalf("GenerateDataKey(%s): %v", id, err)
	}
	return dk, w
}

// mustUnwrap unwraps w and checks that it holds want.
func mustUnwrap(t *testing.T, ks imgward.KeyService, w imgward.WrappedKey, ad string, want []byte) {
	t.Helper()
	got, err := ks.Unwrap(context.Background(), w, []byte(ad))
	if err != nil {
		t.Fatalf("Unwrap(%s v%d): %v", w.KeyID, w.Version, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Unwrap(%s v%d) = %x, want %x", w.KeyID, w.Version, got, want)
	}
}

// wantKind checks that err has kind k.
func wantKind(t *testing.T, what string, err error, k errors.Kind) {
	t.Helper()
	if !errors.Is(k, err) {
		t.Errorf("%s: error %v (kind %v), want kind %v", what, err, errors.KindOf(err), k)
	}
}

func testRoundTrip(t *testing.T, ks imgward.KeyService) {
	id := newKey(t, ks)
	dk, w := generate(t, ks, id, "image-1")
	if len(dk) != imgward.DataKeySize {
		t.Fatalf("data key of %d bytes, want %d", len(dk), imgward.DataKeySize)
	}
	if w.KeyID != id || w.Version != 1 {
		t.Errorf("wrapped under %s v%d, want %s v1", w.KeyID, w.Version, id)
	}
	if bytes.Contains(w.Ciphertext, dk) {
		t.Error("wrapped key contains the data key")
	}
	mustUnwrap(t, ks, w, "image-1", dk)

	dk2, w2 := generate(t, ks, id, "image-1")
	if bytes.Equal(dk, dk2) || bytes.Equal(w.Ciphertext, w2.Ciphertext) {
		t.Error("two data keys or wraps are equal")
	}
	// nil and empty additional data are the same.
	_, w3, err := ks.GenerateDataKey(context.Background(), id, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ks.Unwrap(context.Background(), w3, []byte{}); err != nil {
		t.Errorf("Unwrap with empty ad of a wrap with nil ad: %v", err)
	}
}

func testCreateKey(t *testing.T, ks imgward.KeyService) {
	ctx := context.Background()
	id := newKey(t, ks)
	wantKind(t, "CreateKey of existing key", ks.CreateKey(ctx, id), errors.Exist)
	for _, bad := range []imgward.KeyID{"", "a/v1", "-x", "a b", "ключ", imgward.KeyID(bytes.Repeat([]byte("k"), 129))} {
		wantKind(t, "CreateKey("+string(bad)+")", ks.CreateKey(ctx, bad), errors.Invalid)
	}
}

func testWrongAD(t *testing.T, ks imgward.KeyService) {
	id := newKey(t, ks)
	_, w := generate(t, ks, id, "image-1")
	for _, ad := range []string{"image-2", "", "image-1\x00", "image-"} {
		_, err := ks.Unwrap(context.Background(), w, []byte(ad))
		wantKind(t, "Unwrap with ad "+ad, err, errors.Invalid)
	}
	_, err := ks.Rewrap(context.Background(), w, []byte("image-2"))
	wantKind(t, "Rewrap with wrong ad", err, errors.Invalid)
}

func testTampered(t *testing.T, ks imgward.KeyService) {
	ctx := context.Background()
	id := newKey(t, ks)
	other := newKey(t, ks)
	_, w := generate(t, ks, id, "image-1")
	for i := range w.Ciphertext {
		bad := w
		bad.Ciphertext = bytes.Clone(w.Ciphertext)
		bad.Ciphertext[i] ^= 0x01
		_, err := ks.Unwrap(ctx, bad, []byte("image-1"))
		wantKind(t, "Unwrap with a flipped bit", err, errors.Invalid)
	}
	short := w
	short.Ciphertext = w.Ciphertext[:len(w.Ciphertext)-1]
	_, err := ks.Unwrap(ctx, short, []byte("image-1"))
	wantKind(t, "Unwrap of a truncated wrap", err, errors.Invalid)

	// The wrap names its key and version; naming others fails.
	moved := w
	moved.KeyID = other
	_, err = ks.Unwrap(ctx, moved, []byte("image-1"))
	wantKind(t, "Unwrap under another key", err, errors.Invalid)
	if _, err := ks.Rotate(ctx, id); err != nil {
		t.Fatal(err)
	}
	moved = w
	moved.Version = 2
	_, err = ks.Unwrap(ctx, moved, []byte("image-1"))
	wantKind(t, "Unwrap under another version", err, errors.Invalid)
}
