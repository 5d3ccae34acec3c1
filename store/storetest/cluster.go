package storetest

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"imgward"
	"imgward/errors"
)

func testLeases(t *testing.T, s imgward.Store) {
	take := func(owner string, expires, now int) error {
		return s.Update(ctx(t), func(tx imgward.Tx) error {
			return tx.TakeLease(ctx(t), "rotate/images", owner, at(expires), at(now))
		})
	}
	for _, c := range []struct {
		owner        string
		expires, now int
		want         errors.Kind // 0: taken
	}{
		{"a", 10, 0, 0},               // free
		{"b", 20, 5, errors.Conflict}, // held by a
		{"a", 30, 9, 0},               // a renews
		{"b", 40, 29, errors.Conflict},
		{"b", 40, 30, 0}, // expired at 30: b takes it over
		{"a", 50, 31, errors.Conflict},
	} {
		err := take(c.owner, c.expires, c.now)
		if c.want == 0 && err != nil {
			t.Fatalf("TakeLease by %s at %d: %v", c.owner, c.now, err)
		} else if c.want != 0 {
			wantKind(t, "TakeLease by "+c.owner, err, c.want)
		}
	}
	view(t, s, func(tx imgward.Tx) error {
		l, err := tx.Lease(ctx(t), "rotate/images")
		if err != nil {
			return err
		}
		if diff := cmp.Diff(&imgward.Lease{Name: "rotate/images", Owner: "b", ExpiresAt: at(40)}, l); diff != "" {
			t.Errorf("Lease (-want +got):\n%s", diff)
		}
		return nil
	})
	update(t, s, func(tx imgward.Tx) error { return tx.ReleaseLease(ctx(t), "rotate/images", "a") }) // not a's
	if err := take("a", 50, 31); !errors.Is(errors.Conflict, err) {
		t.Errorf("a lease released by a node that does not hold it: TakeLease = %v, want Conflict", err)
	}
	update(t, s, func(tx imgward.Tx) error { return tx.ReleaseLease(ctx(t), "rotate/images", "b") })
	view(t, s, func(tx imgward.Tx) error {
		_, err := tx.Lease(ctx(t), "rotate/images")
		wantKind(t, "Lease after its release", err, errors.NotExist)
		return nil
	})
}

func testMasterKeys(t *testing.T, s imgward.Store) {
	v1 := &imgward.MasterKeyVersion{KeyID: "images", Version: 1, Wrapped: []byte("one"), CreatedAt: at(0)}
	v2 := &imgward.MasterKeyVersion{KeyID: "images", Version: 2, Wrapped: []byte("two"), CreatedAt: at(1)}
	other := &imgward.MasterKeyVersion{KeyID: "other", Version: 1, Wrapped: []byte("x"), CreatedAt: at(1)}
	update(t, s, func(tx imgward.Tx) error {
		for _, v := range []*imgward.MasterKeyVersion{v2, v1, other} {
			if err := tx.CreateMasterKeyVersion(ctx(t), v); err != nil {
				return err
			}
		}
		return nil
	})
	err := s.Update(ctx(t), func(tx imgward.Tx) error { return tx.CreateMasterKeyVersion(ctx(t), v2) })
	wantKind(t, "CreateMasterKeyVersion of a version taken", err, errors.Exist)
	list := func() []imgward.MasterKeyVersion {
		var vs []imgward.MasterKeyVersion
		view(t, s, func(tx imgward.Tx) (err error) {
			vs, err = tx.MasterKeyVersions(ctx(t), "images")
			return err
		})
		return vs
	}
	if diff := cmp.Diff([]imgward.MasterKeyVersion{*v1, *v2}, list()); diff != "" {
		t.Errorf("MasterKeyVersions (-want +got):\n%s", diff)
	}
	update(t, s, func(tx imgward.Tx) error { return tx.DeleteMasterKeyVersion(ctx(t), "images", 1) })
	err = s.Update(ctx(t), func(tx imgward.Tx) error { return tx.DeleteMasterKeyVersion(ctx(t), "images", 1) })
	wantKind(t, "DeleteMasterKeyVersion twice", err, errors.NotExist)
	if diff := cmp.Diff([]imgward.MasterKeyVersion{*v2}, list()); diff != "" {
		t.Errorf("MasterKeyVersions after a delete (-want +got):\n%s", diff)
	}
}

func testIdentityKeys(t *testing.T, s imgward.Store) {
	seed := imgward.WrappedKey{KeyID: "images", Version: 3, Ciphertext: []byte("seed")}
	k1 := imgward.IdentityKey{KID: "k1", Public: []byte("p1"), Seed: seed, CreatedAt: at(0), Current: true}
	k2 := imgward.IdentityKey{KID: "k2", Public: []byte("p2"), Seed: seed, CreatedAt: at(1), Current: true}
	update(t, s, func(tx imgward.Tx) error { return tx.PutIdentityKey(ctx(t), &k1) })
	update(t, s, func(tx imgward.Tx) error { return tx.PutIdentityKey(ctx(t), &k2) })
	var got []imgward.IdentityKey
	view(t, s, func(tx imgward.Tx) (err error) {
		got, err = tx.IdentityKeys(ctx(t))
		return err
	})
	old := k1
	old.Current, old.Seed = false, imgward.WrappedKey{}
	if diff := cmp.Diff([]imgward.IdentityKey{k2, old}, got); diff != "" {
		t.Errorf("IdentityKeys after a new current key (-want +got):\n%s", diff)
	}
	update(t, s, func(tx imgward.Tx) error { return tx.DeleteIdentityKey(ctx(t), "k1") })
	err := s.Update(ctx(t), func(tx imgward.Tx) error { return tx.DeleteIdentityKey(ctx(t), "k1") })
	wantKind(t, "DeleteIdentityKey twice", err, errors.NotExist)
}
