package storetest

import (
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"imgward"
	"imgward/errors"
)

func testImageKeys(t *testing.T, s imgward.Store) {
	owner := projectID(1)
	k := &imgward.ImageKey{ImageID: imageID(1), Owner: owner, Mode: imgward.ProtectFull,
		Wrapped:   imgward.WrappedKey{KeyID: "images", Version: 1<<32 - 1, Ciphertext: []byte{0, 1, 2, 0xff}},
		CreatedAt: at(0)}
	err := s.Update(ctx(t), func(tx imgward.Tx) error { return tx.CreateImageKey(ctx(t), k) })
	wantKind(t, "CreateImageKey of an absent image", err, errors.NotExist)

	update(t, s, func(tx imgward.Tx) error {
		if err := tx.CreateImage(ctx(t), newImage(1, owner, imgward.Shared, at(0))); err != nil {
			return err
		}
		return tx.CreateImageKey(ctx(t), k)
	})
	checkImageKey(t, s, k)
	err = s.Update(ctx(t), func(tx imgward.Tx) error { return tx.CreateImageKey(ctx(t), k) })
	wantKind(t, "CreateImageKey twice", err, errors.Exist)

	k2 := *k
	k2.Wrapped = imgward.WrappedKey{KeyID: "images", Version: 2, Ciphertext: []byte("rewrapped")}
	k2.Mode, k2.SealedAt = imgward.ProtectSensitive, 1<<40+512
	update(t, s, func(tx imgward.Tx) error { return tx.UpdateImageKey(ctx(t), &k2) })
	checkImageKey(t, s, &k2)

	update(t, s, func(tx imgward.Tx) error { return tx.DeleteImage(ctx(t), imageID(1)) })
	view(t, s, func(tx imgward.Tx) error {
		_, err := tx.ImageKey(ctx(t), imageID(1))
		wantKind(t, "ImageKey of a deleted image", err, errors.NotExist)
		return nil
	})
	err = s.Update(ctx(t), func(tx imgward.Tx) error { return tx.UpdateImageKey(ctx(t), &k2) })
	wantKind(t, "UpdateImageKey of an absent record", err, errors.NotExist)
}

// testListImageKeys walks the records in pages, as key rotation does.
func testListImageKeys(t *testing.T, s imgward.Store) {
	owner := projectID(1)
	var want []imgward.ImageKey
	update(t, s, func(tx imgward.Tx) error {
		want = nil
		for _, n := range []int{5, 1, 4, 2, 3} {
			if err := tx.CreateImage(ctx(t), newImage(n, owner, imgward.Shared, at(0))); err != nil {
				return err
			}
			k := imgward.ImageKey{ImageID: imageID(n), Owner: owner, Mode: imgward.ProtectFull, SealedAt: int64(n),
				Wrapped: imgward.WrappedKey{KeyID: "k", Version: uint32(n), Ciphertext: []byte{byte(n)}}, CreatedAt: at(n)}
			if err := tx.CreateImageKey(ctx(t), &k); err != nil {
				return err
			}
		}
		return nil
	})
	for n := 1; n <= 5; n++ {
		want = append(want, imgward.ImageKey{ImageID: imageID(n), Owner: owner, Mode: imgward.ProtectFull, SealedAt: int64(n),
			Wrapped: imgward.WrappedKey{KeyID: "k", Version: uint32(n), Ciphertext: []byte{byte(n)}}, CreatedAt: at(n)})
	}
	var got []imgward.ImageKey
	view(t, s, func(tx imgward.Tx) error {
		got = nil
		var after imgward.ImageID
		for pages := 0; pages < 10; pages++ {
			ks, err := tx.ListImageKeys(ctx(t), after, 2)
			if err != nil || len(ks) == 0 {
				return err
			}
			if len(ks) > 2 {
				t.Errorf("page of %d records, want at most 2", len(ks))
			}
			got = append(got, ks...)
			after = ks[len(ks)-1].ImageID
		}
		return nil
	})
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ListImageKeys pages (-want +got):\n%s", diff)
	}
}

func checkImageKey(t *testing.T, s imgward.Store, want *imgward.ImageKey) {
	t.Helper()
	view(t, s, func(tx imgward.Tx) error {
		got, err := tx.ImageKey(ctx(t), want.ImageID)
		if err != nil {
			return err
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("ImageKey (-want +got):\n%s", diff)
		}
		return nil
	})
}

func testNonces(t *testing.T, s imgward.Store) {
	use := func(nonce string, exp, now int) error {
		return s.Update(ctx(t), func(tx imgward.Tx) error { return tx.UseNonce(ctx(t), nonce, at(exp), at(now)) })
	}
	if err := use("a", 60, 0); err != nil {
		t.Fatalf("UseNonce: %v", err)
	}
	wantKind(t, "UseNonce again", use("a", 60, 30), errors.Conflict)
	if err := use("b", 10, 0); err != nil {
		t.Fatalf("UseNonce b: %v", err)
	}
	// After its expiry a nonce may be recorded again: the document that
	// carried it no longer verifies anyway.
	if err := use("a", 120, 60); err != nil {
		t.Errorf("UseNonce after expiry: %v", err)
	}
	wantKind(t, "UseNonce of the renewed record", use("a", 200, 100), errors.Conflict)
	update(t, s, func(tx imgward.Tx) error {
		n, err := tx.PurgeNonces(ctx(t), at(100))
		if n != 1 {
			t.Errorf("PurgeNonces removed %d, want 1 (b)", n)
		}
		return err
	})
}

// testNoncesConcurrent redeems one nonce from many goroutines: exactly one
// may win, as across nodes.
func testNoncesConcurrent(t *testing.T, s imgward.Store) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 8 {
		wg.Go(func() {
			err := s.Update(ctx(t), func(tx imgward.Tx) error { return tx.UseNonce(ctx(t), "n", at(60), at(0)) })
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				wins++
			} else if !errors.Is(errors.Conflict, err) {
				t.Errorf("UseNonce: %v", err)
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("%d redemptions of one nonce succeeded, want 1", wins)
	}
}

func testFingerprints(t *testing.T, s imgward.Store) {
	p, q := projectID(1), projectID(2)
	fp := func(n int, owner imgward.ProjectID) *imgward.ImageFingerprint {
		return &imgward.ImageFingerprint{ImageID: imageID(n), Owner: owner, Sums: []byte{byte(n), 0, 0xff}}
	}
	err := s.Update(ctx(t), func(tx imgward.Tx) error { return tx.PutFingerprint(ctx(t), fp(9, p)) })
	wantKind(t, "PutFingerprint of an absent image", err, errors.NotExist)
	update(t, s, func(tx imgward.Tx) error {
		// 1 and 2 are p's, 3 is q's; 1 and 3 are protected, 2 is not.
		for n, owner := range map[int]imgward.ProjectID{1: p, 2: p, 3: q} {
			if err := tx.CreateImage(ctx(t), newImage(n, owner, imgward.Shared, at(0))); err != nil {
				return err
			}
			if err := tx.PutFingerprint(ctx(t), &imgward.ImageFingerprint{ImageID: imageID(n), Owner: owner}); err != nil {
				return err
			}
			if err := tx.PutFingerprint(ctx(t), fp(n, owner)); err != nil { // replaces
				return err
			}
			if n == 2 {
				continue
			}
			k := &imgward.ImageKey{ImageID: imageID(n), Owner: owner, Mode: imgward.ProtectFull,
				Wrapped: imgward.WrappedKey{KeyID: "k", Version: 1, Ciphertext: []byte{1}}, CreatedAt: at(0)}
			if err := tx.CreateImageKey(ctx(t), k); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx imgward.Tx) error {
		for _, tt := range []struct {
			not  imgward.ProjectID
			want []imgward.ImageFingerprint
		}{
			{p, []imgward.ImageFingerprint{*fp(3, q)}},
			{q, []imgward.ImageFingerprint{*fp(1, p)}},
			{projectID(7), []imgward.ImageFingerprint{*fp(1, p), *fp(3, q)}},
		} {
			got, err := tx.ProtectedFingerprints(ctx(t), tt.not)
			if err != nil {
				return err
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ProtectedFingerprints(not %s) (-want +got):\n%s", tt.not, diff)
			}
		}
		for _, tt := range []struct {
			owner imgward.ProjectID
			want  []imgward.ImageFingerprint
		}{
			{p, []imgward.ImageFingerprint{*fp(1, p), *fp(2, p)}},
			{q, []imgward.ImageFingerprint{*fp(3, q)}},
			{projectID(7), []imgward.ImageFingerprint{}},
		} {
			got, err := tx.OwnerFingerprints(ctx(t), tt.owner)
			if err != nil {
				return err
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("OwnerFingerprints(%s) (-want +got):\n%s", tt.owner, diff)
			}
		}
		return nil
	})
}
