package kmstest

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"imgward"
	"imgward/errors"
)

func testRotate(t *testing.T, ks imgward.KeyService) {
	ctx := context.Background()
	id := newKey(t, ks)
	dk1, w1 := generate(t, ks, id, "image-1")

	v, err := ks.Rotate(ctx, id)
	if err != nil || v != 2 {
		t.Fatalf("Rotate = %d, %v; want 2, nil", v, err)
	}
	dk2, w2 := generate(t, ks, id, "image-2")
	if w2.Version != 2 {
		t.Errorf("new wrap under v%d, want v2", w2.Version)
	}
	mustUnwrap(t, ks, w1, "image-1", dk1) // old versions still unwrap
	mustUnwrap(t, ks, w2, "image-2", dk2)

	rw, err := ks.Rewrap(ctx, w1, []byte("image-1"))
	if err != nil {
		t.Fatalf("Rewrap: %v", err)
	}
	if rw.KeyID != id || rw.Version != 2 {
		t.Errorf("Rewrap to %s v%d, want %s v2", rw.KeyID, rw.Version, id)
	}
	if bytes.Equal(rw.Ciphertext, w1.Ciphertext) {
		t.Error("Rewrap returned the old ciphertext")
	}
	mustUnwrap(t, ks, rw, "image-1", dk1)
	_, err = ks.Unwrap(ctx, rw, []byte("image-2"))
	wantKind(t, "Unwrap of a rewrap with another ad", err, errors.Invalid)

	// Rewrap of a current wrap stays on the current version.
	rw2, err := ks.Rewrap(ctx, w2, []byte("image-2"))
	if err != nil || rw2.Version != 2 {
		t.Fatalf("Rewrap of a current wrap = v%d, %v; want v2, nil", rw2.Version, err)
	}
	mustUnwrap(t, ks, rw2, "image-2", dk2)

	if v, err := ks.Rotate(ctx, id); err != nil || v != 3 {
		t.Fatalf("second Rotate = %d, %v; want 3, nil", v, err)
	}
	mustUnwrap(t, ks, w1, "image-1", dk1)
}

func testRetire(t *testing.T, ks imgward.KeyService) {
	ctx := context.Background()
	id := newKey(t, ks)
	dk, w1 := generate(t, ks, id, "image-1")
	wantKind(t, "Retire of the current version", ks.Retire(ctx, id, 1), errors.Conflict)
	if _, err := ks.Rotate(ctx, id); err != nil {
		t.Fatal(err)
	}
	rw, err := ks.Rewrap(ctx, w1, []byte("image-1"))
	if err != nil {
		t.Fatal(err)
	}
	if err := ks.Retire(ctx, id, 1); err != nil {
		t.Fatalf("Retire(v1): %v", err)
	}
	_, err = ks.Unwrap(ctx, w1, []byte("image-1"))
	wantKind(t, "Unwrap under a retired version", err, errors.NotExist)
	_, err = ks.Rewrap(ctx, w1, []byte("image-1"))
	wantKind(t, "Rewrap under a retired version", err, errors.NotExist)
	wantKind(t, "Retire again", ks.Retire(ctx, id, 1), errors.NotExist)
	wantKind(t, "Retire of a future version", ks.Retire(ctx, id, 9), errors.NotExist)
	mustUnwrap(t, ks, rw, "image-1", dk)

	// Versions are never reused after a retirement.
	if v, err := ks.Rotate(ctx, id); err != nil || v != 3 {
		t.Fatalf("Rotate after Retire = %d, %v; want 3, nil", v, err)
	}
}

func testUnknownKey(t *testing.T, ks imgward.KeyService) {
	ctx := context.Background()
	id := NewKeyID() // never created
	_, _, err := ks.GenerateDataKey(ctx, id, nil)
	wantKind(t, "GenerateDataKey", err, errors.NotExist)
	_, err = ks.Rotate(ctx, id)
	wantKind(t, "Rotate", err, errors.NotExist)
	wantKind(t, "Retire", ks.Retire(ctx, id, 1), errors.NotExist)

	// A well-formed wrap naming an unknown key or version.
	known := newKey(t, ks)
	_, w := generate(t, ks, known, "x")
	for _, bad := range []imgward.WrappedKey{
		{KeyID: id, Version: 1, Ciphertext: w.Ciphertext},
		{KeyID: known, Version: 7, Ciphertext: w.Ciphertext},
	} {
		_, err = ks.Unwrap(ctx, bad, []byte("x"))
		wantKind(t, "Unwrap", err, errors.NotExist)
		_, err = ks.Rewrap(ctx, bad, []byte("x"))
		wantKind(t, "Rewrap", err, errors.NotExist)
	}
}

func testCanceled(t *testing.T, ks imgward.KeyService) {
	id := newKey(t, ks)
	_, w := generate(t, ks, id, "x")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := ks.GenerateDataKey(ctx, id, nil)
	if !errors.IsErr(err, context.Canceled) {
		t.Errorf("GenerateDataKey with canceled ctx: %v, want context.Canceled", err)
	}
	_, err = ks.Unwrap(ctx, w, []byte("x"))
	if !errors.IsErr(err, context.Canceled) {
		t.Errorf("Unwrap with canceled ctx: %v, want context.Canceled", err)
	}
}

// testConcurrent generates and unwraps from many goroutines while the key
// rotates: every wrap made must unwrap.
func testConcurrent(t *testing.T, ks imgward.KeyService) {
	ctx := context.Background()
	id := newKey(t, ks)
	const workers, rounds, rotations = 8, 25, 5
	var wg sync.WaitGroup
	errc := make(chan error, workers+1)
	for range workers {
		wg.Go(func() {
			for range rounds {
				dk, w, err := ks.GenerateDataKey(ctx, id, []byte("img"))
				if err != nil {
					errc <- err
					return
				}
				got, err := ks.Unwrap(ctx, w, []byte("img"))
				if err != nil {
					errc <- err
					return
				}
				if !bytes.Equal(got, dk) {
					errc <- errors.Errorf("unwrapped %x, want %x", got, dk)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range rotations {
			if _, err := ks.Rotate(ctx, id); err != nil {
				errc <- err
				return
			}
		}
	})
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if v, err := ks.Rotate(ctx, id); err != nil || v != rotations+2 {
		t.Errorf("Rotate after concurrent rotations = %d, %v; want %d", v, err, rotations+2)
	}
}
