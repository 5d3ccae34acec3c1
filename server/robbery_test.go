package server_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"imgward/seal"
)

// TestRobbery is the story of issue 3 over real HTTP: Alice publishes a
// protected image X and shares it with Bob, who may run it but must not be
// able to pass it on, in any form.
func TestRobbery(t *testing.T) { robbery(t, newCloud(t)) }

// TestRobberyPostgres is the story with the store of several nodes.
func TestRobberyPostgres(t *testing.T) {
	robbery(t, newPostgresCloud(t))
}

func robbery(t *testing.T, c *cloud) {
	alice, aliceTok := c.tenant("alice")
	bob, bobTok := c.tenant("bob")
	carol, carolTok := c.tenant("carol")

	files := rootfs(1, 200)
	plain := tarOf(t, files, time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	x := c.image(aliceTok, map[string]any{"imgward_protect": "full"}, plain)
	c.share(aliceTok, x, bob, bobTok)

	// Bob downloads only sealed bytes; Alice exports her plaintext.
	sealed := c.call("GET", "/v2/images/"+x+"/file", bobTok, nil, 200, nil)
	if sealed.header.Get("X-Imgward-Sealed") != "v1" || !bytes.HasPrefix(sealed.body, []byte(seal.Magic)) {
		t.Fatalf("member's download is not sealed: header %q", sealed.header.Get("X-Imgward-Sealed"))
	}
	if bytes.Contains(sealed.body, files[0].data) {
		t.Fatal("sealed download holds plaintext")
	}
	if got := c.call("GET", "/v2/images/"+x+"/file", aliceTok, nil, 200, nil); !bytes.Equal(got.body, plain) {
		t.Fatal("owner's export differs from the upload")
	}

	// Bob launches i-1 and his host fetches X: the plaintext is Alice's.
	_, id1 := c.launch(bobTok, x)
	r, key := c.release(id1, x)
	if r.code != 200 {
		t.Fatalf("release to Bob's i-1: %d %s", r.code, r.body)
	}
	var got bytes.Buffer
	_, sr, err := seal.NewReader(bytes.NewReader(sealed.body), key)
	if err != nil {
		t.Fatalf("released key does not open X: %v", err)
	}
	if _, err := got.ReadFrom(sr); err != nil {
		t.Fatalf("unsealing X: %v", err)
	}
	if !bytes.Equal(got.Bytes(), plain) {
		t.Fatal("fetched plaintext differs from the original")
	}

	deny := func(name string, r *response, code int, msg string) {
		t.Helper()
		if r.code != code || !strings.Contains(r.message(), msg) {
			t.Errorf("%s: %d %q, want %d %q", name, r.code, r.message(), code, msg)
		}
	}
	r, _ = c.release(id1, x)
	deny("replayed document", r, 403, "identity document already used")

	// Bob re-uploads the sealed bytes as his own image Y, shared with
	// Carol: it is flagged, and Carol's instance gets no key. (He shares
	// it before the upload: once flagged it may not gain members.)
	y := c.create(bobTok, nil)
	c.share(bobTok, y, carol, carolTok)
	c.call("PUT", "/v2/images/"+y+"/file", bobTok, sealed.body, 204, nil)
	c.call("POST", "/v2/images/"+y+"/members", bobTok, map[string]string{"member": alice}, 403, nil)
	_, cy := c.launch(carolTok, y)
	r, _ = c.release(cy, y)
	deny("Carol's instance of the re-upload", r, 403, "sealed image binding names another owner")
	var flags struct{ Flags []map[string]any }
	c.call("GET", "/v1/flags", c.admin, nil, 200, &flags)
	if len(flags.Flags) != 1 || flags.Flags[0]["image_id"] != y || flags.Flags[0]["derived_from"] != x {
		t.Errorf("flags after the sealed re-upload: %v", flags.Flags)
	}

	// Bob's document for one image, presented for another.
	_, id2 := c.launch(bobTok, x)
	r, _ = c.release(id2, y)
	deny("document for another image", r, 403, "identity document is for another image")

	// A document signed by another Ed25519 key under the real key id.
	_, id3 := c.launch(bobTok, x)
	r, _ = c.release(forge(t, c, id3), x)
	deny("forged document", r, 403, "bad identity document signature")

	// An expired document.
	_, id4 := c.launch(bobTok, x)
	c.advance(time.Hour)
	r, _ = c.release(id4, x)
	deny("expired document", r, 403, "identity document expired")
	c.advance(-time.Hour)

	// A terminated instance.
	i5, id5 := c.launch(bobTok, x)
	c.call("DELETE", "/v1/instances/"+i5, bobTok, nil, 200, nil)
	r, _ = c.release(id5, x)
	deny("terminated instance", r, 403, "instance is terminated")

	// Carol, as a member of X who no longer accepts, or was removed.
	c.share(aliceTok, x, carol, carolTok)
	_, cp := c.launch(carolTok, x)
	_, cr := c.launch(carolTok, x)
	_, cm := c.launch(carolTok, x)
	c.call("PUT", "/v2/images/"+x+"/members/"+carol, carolTok, map[string]string{"status": "pending"}, 200, nil)
	r, _ = c.release(cp, x)
	deny("pending member", r, 403, "membership is pending")
	c.call("PUT", "/v2/images/"+x+"/members/"+carol, carolTok, map[string]string{"status": "rejected"}, 200, nil)
	r, _ = c.release(cr, x)
	deny("rejected member", r, 403, "membership is rejected")
	c.call("DELETE", "/v2/images/"+x+"/members/"+carol, aliceTok, nil, 204, nil)
	removed, _ := c.release(cm, x)
	deny("removed member", removed, 404, "no such image")

	// A stranger learns nothing: the denial of the removed member is the
	// denial for an image that does not exist.
	w := c.image(aliceTok, map[string]any{"imgward_protect": "full"}, []byte("w"))
	c.share(aliceTok, w, carol, carolTok)
	_, cw := c.launch(carolTok, w)
	c.call("DELETE", "/v2/images/"+w, aliceTok, nil, 204, nil)
	gone, _ := c.release(cw, w)
	if gone.code != removed.code || !bytes.Equal(gone.body, removed.body) {
		t.Errorf("removed member got %d %s, absent image %d %s", removed.code, removed.body, gone.code, gone.body)
	}

	// Bob re-bundles the decrypted rootfs with small edits: flagged as
	// derived from X, and refused when made shared.
	z := c.image(bobTok, map[string]any{"visibility": "private"}, rebundle(t, files))
	c.call("GET", "/v1/flags", c.admin, nil, 200, &flags)
	var fz map[string]any
	for _, f := range flags.Flags {
		if f["image_id"] == z {
			fz = f
		}
	}
	if fz == nil || fz["derived_from"] != x {
		t.Fatalf("re-bundled rootfs not flagged as derived from X: %v", flags.Flags)
	}
	t.Logf("re-bundled rootfs: %.3f of X found", fz["fraction"])
	patch := `[{"op":"replace","path":"/visibility","value":"shared"}]`
	r = c.call("PATCH", "/v2/images/"+z, bobTok, patch, 403, nil)
	if !strings.Contains(r.message(), "flagged") {
		t.Errorf("sharing a flagged image: %q", r.message())
	}
	// An unrelated rootfs of Bob's is not flagged.
	u := c.image(bobTok, map[string]any{"visibility": "private"}, tarOf(t, rootfs(2, 50), time.Now()))
	c.call("PATCH", "/v2/images/"+u, bobTok, patch, 200, nil)

	c.call("POST", "/v1/flags/"+z+"/clear", c.admin, nil, 200, nil)
	c.call("PATCH", "/v2/images/"+z, bobTok, patch, 200, nil)

	checkAudit(t, c, []string{"identity document already used", "sealed image binding names another owner",
		"identity document is for another image", "bad identity document signature", "identity document expired",
		"instance is terminated", "membership is pending, not accepted", "membership is rejected, not accepted",
		"image not visible to the project", "no such image"})
}

// forge signs the document of token anew with a key of its own, under the
// real key's id.
func forge(t *testing.T, c *cloud, token string) string {
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	payload := jws.UnsafePayloadWithoutVerification()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	h := jws.Signatures[0].Protected
	opts := (&jose.SignerOptions{}).WithType("imgward-identity+jws")
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: jose.JSONWebKey{Key: priv, KeyID: h.KeyID}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := obj.CompactSerialize()
	return s
}

// checkAudit checks that every reason appears in a denied key.release.
func checkAudit(t *testing.T, c *cloud, reasons []string) {
	var es []struct{ Action, Result, Reason string }
	var page struct{ Entries json.RawMessage }
	c.call("GET", "/v1/audit?limit=1000", c.admin, nil, 200, &page)
	json.Unmarshal(page.Entries, &es)
	seen := map[string]bool{}
	released := 0
	for _, e := range es {
		if e.Action == "key.release" && e.Result == "denied" {
			seen[e.Reason] = true
		}
		if e.Action == "key.release" && e.Result == "ok" {
			released++
		}
	}
	for _, r := range reasons {
		if !seen[r] {
			t.Errorf("no audited key.release denial %q; have %v", r, seen)
		}
	}
	if released != 1 {
		t.Errorf("%d audited releases, want 1", released)
	}
}
