package server_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"imgward/catalog"
	"imgward/identity"
	"imgward/seal"
	"imgward/server"
)

// TestProtectAttribute checks who may set imgward_protect, and when.
func TestProtectAttribute(t *testing.T) {
	c := newCloud(t)
	_, tok := c.tenant("alice")
	for _, tt := range []struct {
		attrs map[string]any
		code  int
		msg   string
	}{
		{map[string]any{"imgward_protect": "sensitive"}, 400, "sensitive is not supported yet"},
		{map[string]any{"imgward_protect": "half"}, 400, "must be none, full or sensitive"},
		{map[string]any{"imgward_protect": true}, 400, "must be none, full or sensitive"},
		{map[string]any{"imgward_other": "x"}, 403, "reserved"},
		{map[string]any{"imgward_protect": "none"}, 201, ""},
	} {
		a := map[string]any{"name": "x", "disk_format": "raw", "container_format": "bare"}
		for k, v := range tt.attrs {
			a[k] = v
		}
		r := c.do("POST", "/v2/images", tok, a)
		if r.code != tt.code || !strings.Contains(r.message(), tt.msg) {
			t.Errorf("create with %v: %d %q, want %d %q", tt.attrs, r.code, r.message(), tt.code, tt.msg)
		}
	}
	id := c.create(tok, map[string]any{"imgward_protect": "full"})
	for _, p := range []string{
		`[{"op":"replace","path":"/imgward_protect","value":"none"}]`,
		`[{"op":"remove","path":"/imgward_protect"}]`,
	} {
		if r := c.do("PATCH", "/v2/images/"+id, tok, p); r.code != 403 {
			t.Errorf("PATCH %s: %d %s, want 403", p, r.code, r.body)
		}
	}
}

// TestProtectedUpload checks what a protected image keeps, and its limits.
func TestProtectedUpload(t *testing.T) {
	c := newCloudWith(t, func(cfg *server.Config) { cfg.Limits = catalog.Limits{MaxImageSize: 100 << 10} })
	_, tok := c.tenant("alice")
	id := c.create(tok, map[string]any{"imgward_protect": "full"})
	if r := c.do("PUT", "/v2/images/"+id+"/file", tok, make([]byte, 100<<10+1)); r.code != 413 {
		t.Errorf("upload over the limit: %d %s", r.code, r.body)
	}
	data := bytes.Repeat([]byte("imgward "), 100<<10/8)
	c.call("PUT", "/v2/images/"+id+"/file", tok, data, 204, nil)
	var img struct {
		Size     int64
		Checksum string
	}
	c.call("GET", "/v2/images/"+id, tok, nil, 200, &img)
	if img.Size != int64(len(data)) {
		t.Errorf("size %d, want the plaintext's %d", img.Size, len(data))
	}
	plain := c.call("GET", "/v2/images/"+id+"/file", tok, nil, 200, nil)
	if !bytes.Equal(plain.body, data) || plain.header.Get("Content-MD5") != img.Checksum {
		t.Errorf("owner's export: %d bytes, Content-MD5 %q, checksum %q", len(plain.body), plain.header.Get("Content-MD5"), img.Checksum)
	}
	sealed := c.call("GET", "/v2/images/"+id+"/file?format=sealed", tok, nil, 200, nil)
	h, err := seal.ParseHeader(bytes.NewReader(sealed.body))
	if err != nil || string(h.ImageID) != id || h.KeyID != catalog.DefaultKeyID {
		t.Errorf("sealed download: header %+v, %v", h, err)
	}
}

// TestReleaseRequests checks malformed requests and an unprotected image.
func TestReleaseRequests(t *testing.T) {
	c := newCloud(t)
	_, tok := c.tenant("alice")
	plain := c.image(tok, nil, []byte("plain"))
	_, doc := c.launch(tok, plain)
	for _, body := range []string{
		`{"identity":"` + doc + `","image_id":"` + plain + `","public_key":{"kty":"oct","k":"AAAA"}}`,
		`{"identity":"` + doc + `","image_id":"` + plain + `"}`,
		`{"identity":"x.y.z","image_id":"` + plain + `","public_key":` + p256JWK(t) + `}`,
	} {
		if r := c.do("POST", "/v1/keys/release", "", body); r.code != 400 {
			t.Errorf("release %.60s...: %d %s, want 400", body, r.code, r.body)
		}
	}
	r, _ := c.release(doc, plain)
	if r.code != 403 || !strings.Contains(r.message(), "not protected") {
		t.Errorf("release of an unprotected image: %d %s", r.code, r.body)
	}
	if r := c.do("GET", "/v1/flags", tok, nil); r.code != 403 {
		t.Errorf("flags as a member: %d", r.code)
	}
}

// TestIdentityKeys checks that a launch's document verifies with the
// published keys, fetched without a token.
func TestIdentityKeys(t *testing.T) {
	c := newCloud(t)
	_, tok := c.tenant("alice")
	img := c.image(tok, nil, []byte("x"))
	in, doc := c.launch(tok, img)
	var jwks jose.JSONWebKeySet
	c.call("GET", "/v1/identity/keys", "", nil, 200, &jwks)
	ks, err := identity.NewKeySet(jwks)
	if err != nil {
		t.Fatal(err)
	}
	d, err := ks.Verify(doc, time.Now())
	if err != nil || string(d.InstanceID) != in || string(d.ImageID) != img || d.Host != "compute-1" {
		t.Errorf("document %+v, %v", d, err)
	}
	bad := map[string]string{"image_id": img, "host": "bad host"}
	if r := c.do("POST", "/v1/instances", tok, bad); r.code != 400 {
		t.Errorf("launch with a host that cannot be in a document: %d", r.code)
	}
}

// p256JWK returns the JWK of a new P-256 public key.
func p256JWK(t *testing.T) string {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(jose.JSONWebKey{Key: &priv.PublicKey})
	return string(b)
}
