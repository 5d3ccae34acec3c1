package identity

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"imgward"
	"imgward/errors"
	"imgward/kms/local"
	"imgward/store/postgres"
	"imgward/store/storetest"
)

// sharedNodes opens n issuers over one PostgreSQL database, each with its
// own store connection and its own copy of the shared master key ring, as
// n nodes of a cluster.
func sharedNodes(t *testing.T, n int) []*Issuer {
	t.Helper()
	ctx := context.Background()
	dsn := storetest.PostgresDSN(t)
	kek := make([]byte, 32)
	rand.Read(kek)
	var is []*Issuer
	for range n {
		st, err := postgres.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		ks, err := local.OpenShared(st, kek, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := ks.CreateKey(ctx, "images"); err != nil && !errors.Is(errors.Exist, err) {
			t.Fatal(err)
		}
		i, err := OpenSharedIssuer(ctx, st, ks, "images", 0, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(i.Close)
		is = append(is, i)
	}
	return is
}

// TestSharedRing checks that three nodes share one key ring: a document
// issued on one verifies on the others, a key rotated on one signs on it
// and verifies on the others at once, and a retired key verifies nowhere
// once the nodes have read the ring.
func TestSharedRing(t *testing.T) {
	ctx := context.Background()
	n := sharedNodes(t, 3)
	a, b, c := n[0], n[1], n[2]
	if ka, kc := a.Keys().Keys[0].KeyID, c.Keys().Keys[0].KeyID; ka != kc {
		t.Fatalf("nodes started with different keys: %s and %s", ka, kc)
	}
	now := t0
	d := sampleDoc()
	tok, err := a.Issue(&d, now)
	if err != nil {
		t.Fatal(err)
	}
	mustVerify(t, b, tok)
	mustVerify(t, c, tok)

	old := a.Keys().Keys[0].KeyID
	kid, err := b.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d2 := sampleDoc()
	tok2, err := b.Issue(&d2, now)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(missReload)                                          // a reads the ring on a miss at most this often
	if _, err := a.Verify(tok2, now.Add(time.Minute)); err != nil { // a has not read the ring since
		t.Fatalf("a document signed with a key rotated on b does not verify on a: %v", err)
	}
	if got := a.Keys(); len(got.Keys) != 2 || got.Keys[0].KeyID != kid || got.Keys[1].KeyID != old {
		t.Errorf("JWKS of a after the rotation on b: %v, want %s then %s", got.Keys, kid, old)
	}
	mustVerify(t, c, tok) // the former key still verifies

	if err := c.Retire(ctx, kid); !errors.Is(errors.Conflict, err) {
		t.Errorf("Retire of the current key: %v, want Conflict", err)
	}
	if err := c.Retire(ctx, old); err != nil {
		t.Fatal(err)
	}
	if err := a.reload(ctx, time.Time{}); err != nil { // as the refresh would
		t.Fatal(err)
	}
	if _, err := a.Verify(tok, now.Add(time.Minute)); !errors.Is(errors.Permission, err) {
		t.Errorf("a document under a key retired on c verifies on a: %v", err)
	}
	// A node restarted later reads the same ring, and signs with b's key.
	for _, i := range []*Issuer{a, c} {
		d3 := sampleDoc()
		tok3, err := i.Issue(&d3, now)
		if err != nil {
			t.Fatal(err)
		}
		mustVerify(t, b, tok3)
	}
	var st imgward.Store = a.shared.st
	var ks []imgward.IdentityKey
	if err := st.View(ctx, func(tx imgward.Tx) (err error) { ks, err = tx.IdentityKeys(ctx); return err }); err != nil {
		t.Fatal(err)
	}
	if len(ks) != 1 || ks[0].KID != kid || len(ks[0].Seed.Ciphertext) == 0 {
		t.Errorf("stored ring: %+v, want only %s with its wrapped seed", ks, kid)
	}
}
