package server_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"imgward"
	"imgward/errors"
	"imgward/seal"
)

// TestKeyRotation is issue 3's key rotation over real HTTP: the master key
// rotates and the image keys are re-wrapped without re-encrypting the
// image, which Bob's instances still fetch.
func TestKeyRotation(t *testing.T) { keyRotation(t, newCloud(t)) }

// TestKeyRotationPostgres is the rotation with the store of several nodes.
func TestKeyRotationPostgres(t *testing.T) {
	keyRotation(t, newPostgresCloud(t))
}

func keyRotation(t *testing.T, c *cloud) {
	_, aliceTok := c.tenant("alice")
	bob, bobTok := c.tenant("bob")
	plain := tarOf(t, rootfs(3, 50), time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	x := c.image(aliceTok, map[string]any{"imgward_protect": "full"}, plain)
	c.share(aliceTok, x, bob, bobTok)
	sealed := c.call("GET", "/v2/images/"+x+"/file", bobTok, nil, 200, nil).body
	fetch := func(when string) {
		t.Helper()
		_, id := c.launch(bobTok, x)
		r, key := c.release(id, x)
		if r.code != 200 {
			t.Fatalf("%s: release to Bob: %d %s", when, r.code, r.body)
		}
		_, sr, err := seal.NewReader(bytes.NewReader(sealed), key)
		if err != nil {
			t.Fatalf("%s: released key does not open X: %v", when, err)
		}
		var got bytes.Buffer
		if _, err := got.ReadFrom(sr); err != nil || !bytes.Equal(got.Bytes(), plain) {
			t.Fatalf("%s: fetched plaintext differs from the original (%v)", when, err)
		}
	}
	fetch("before rotation")
	k1 := imageKey(t, c, x)
	if k1.Wrapped.Version != 1 {
		t.Fatalf("X's key under v%d, want v1", k1.Wrapped.Version)
	}

	c.call("POST", "/v1/keys/rotate", bobTok, nil, 403, nil)
	var rot struct {
		KeyID     string `json:"key_id"`
		Version   uint32
		Rewrapped int
		Retired   []uint32
	}
	c.call("POST", "/v1/keys/rotate", c.admin, nil, 200, &rot)
	if rot.KeyID != "imgward-images" || rot.Version != 2 || rot.Rewrapped != 1 || len(rot.Retired) != 0 {
		t.Fatalf("rotate = %+v, want imgward-images v2, 1 rewrapped, none retired", rot)
	}
	k2 := imageKey(t, c, x)
	if k2.Wrapped.Version != 2 || bytes.Equal(k2.Wrapped.Ciphertext, k1.Wrapped.Ciphertext) {
		t.Fatalf("X's key after rotation: v%d, ciphertext changed %v", k2.Wrapped.Version,
			!bytes.Equal(k2.Wrapped.Ciphertext, k1.Wrapped.Ciphertext))
	}
	if now := c.call("GET", "/v2/images/"+x+"/file", bobTok, nil, 200, nil).body; !bytes.Equal(now, sealed) {
		t.Fatal("rotation changed the sealed image")
	}
	fetch("after rotation") // a header of v1 against a record of v2

	// Retiring: X moves to v3, v1 and v2 are destroyed, and X still opens.
	c.call("POST", "/v1/keys/rotate", c.admin, map[string]bool{"retire_below": true}, 200, &rot)
	if rot.Version != 3 || rot.Rewrapped != 1 || len(rot.Retired) != 2 || rot.Retired[0] != 1 || rot.Retired[1] != 2 {
		t.Fatalf("rotate with retire = %+v, want v3, 1 rewrapped, v1 and v2 retired", rot)
	}
	for _, k := range []*imgward.ImageKey{k1, k2} {
		if _, err := c.svc.Keys.Unwrap(context.Background(), k.Wrapped, []byte(x)); !errors.Is(errors.NotExist, err) {
			t.Errorf("Unwrap under retired v%d: %v, want NotExist", k.Wrapped.Version, err)
		}
	}
	fetch("after retirement")
	// Run again with nothing behind: a new version, nothing to move but X.
	c.call("POST", "/v1/keys/rotate", c.admin, map[string]bool{"retire_below": true}, 200, &rot)
	if rot.Version != 4 || rot.Rewrapped != 1 || len(rot.Retired) != 1 || rot.Retired[0] != 3 {
		t.Errorf("second rotate with retire = %+v, want v4, 1 rewrapped, v3 retired", rot)
	}
	c.call("POST", "/v1/keys/rotate", c.admin, `{"retire_below": "yes"}`, 400, nil)

	// An image sealed under v4 whose record is forged back to v3: a header
	// newer than its record is refused before anything is unwrapped.
	y := c.image(aliceTok, map[string]any{"imgward_protect": "full"}, []byte("y"))
	ky := imageKey(t, c, y)
	ky.Wrapped.Version--
	if err := c.svc.Store.Update(context.Background(), func(tx imgward.Tx) error {
		return tx.UpdateImageKey(context.Background(), ky)
	}); err != nil {
		t.Fatal(err)
	}
	_, iy := c.launch(aliceTok, y)
	if r, _ := c.release(iy, y); r.code != 403 || !strings.Contains(r.message(), "sealed header key does not match the catalog") {
		t.Errorf("header v4 against a record of v3: %d %q", r.code, r.message())
	}

	rotations := 0
	for _, e := range auditEntries(t, c) {
		if e.Action == "key.rotate" && e.Result == "ok" {
			rotations++
			if !strings.Contains(e.Reason, "rewrapped 1 records") {
				t.Errorf("key.rotate audited as %q", e.Reason)
			}
		}
	}
	if rotations != 3 {
		t.Errorf("%d audited rotations, want 3", rotations)
	}
}

// TestIdentityRotation: documents issued before a rotation still release,
// new ones are signed by the new key, and the JWKS lists both.
func TestIdentityRotation(t *testing.T) {
	c := newCloud(t)
	_, aliceTok := c.tenant("alice")
	x := c.image(aliceTok, map[string]any{"imgward_protect": "full"}, []byte("x"))
	_, before := c.launch(aliceTok, x)
	var jwks jose.JSONWebKeySet
	c.call("GET", "/v1/identity/keys", "", nil, 200, &jwks)
	if len(jwks.Keys) != 1 || kidOf(t, before) != jwks.Keys[0].KeyID {
		t.Fatalf("JWKS before rotation: %d keys; document kid %s", len(jwks.Keys), kidOf(t, before))
	}
	old := jwks.Keys[0].KeyID

	c.call("POST", "/v1/identity/rotate", aliceTok, nil, 403, nil)
	var rot struct{ Kid string }
	c.call("POST", "/v1/identity/rotate", c.admin, nil, 200, &rot)
	if rot.Kid == "" || rot.Kid == old {
		t.Fatalf("rotate answered kid %q (old %q)", rot.Kid, old)
	}
	c.call("GET", "/v1/identity/keys", "", nil, 200, &jwks)
	if len(jwks.Keys) != 2 || jwks.Keys[0].KeyID != rot.Kid || jwks.Keys[1].KeyID != old {
		t.Errorf("JWKS after rotation: %+v, want the new kid then the old", jwks.Keys)
	}
	if r, _ := c.release(before, x); r.code != 200 {
		t.Errorf("document issued before the rotation: %d %s", r.code, r.body)
	}
	_, after := c.launch(aliceTok, x)
	if kidOf(t, after) != rot.Kid {
		t.Errorf("document after rotation signed by %s, want %s", kidOf(t, after), rot.Kid)
	}
	if r, _ := c.release(after, x); r.code != 200 {
		t.Errorf("document issued after the rotation: %d %s", r.code, r.body)
	}
	n := 0
	for _, e := range auditEntries(t, c) {
		if e.Action == "identity.rotate" && e.Result == "ok" && strings.Contains(e.Reason, rot.Kid) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d audited identity rotations, want 1", n)
	}
}

func imageKey(t *testing.T, c *cloud, id string) *imgward.ImageKey {
	t.Helper()
	var k *imgward.ImageKey
	err := c.svc.Store.View(context.Background(), func(tx imgward.Tx) error {
		var err error
		k, err = tx.ImageKey(context.Background(), imgward.ImageID(id))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func kidOf(t *testing.T, token string) string {
	t.Helper()
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	return jws.Signatures[0].Protected.KeyID
}

type auditEntry struct{ Action, Result, Reason string }

func auditEntries(t *testing.T, c *cloud) []auditEntry {
	var page struct{ Entries []auditEntry }
	c.call("GET", "/v1/audit?limit=1000", c.admin, nil, 200, &page)
	return page.Entries
}
