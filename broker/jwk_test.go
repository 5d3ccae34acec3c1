package broker

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// jwkOf is the JWK that go-jose writes for a new P-256 public key, and its
// coordinates in base64url.
func jwkOf(t testing.TB) (raw string, x, y string) {
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	b, err := json.Marshal(jose.JSONWebKey{Key: &priv.PublicKey})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	json.Unmarshal(b, &m)
	return string(b), m["x"], m["y"]
}

// goJosePublicKey is parsePublicKey as it was before parseFlatJWK: the
// reference that the fast path must agree with.
func goJosePublicKey(raw []byte) *ecdh.PublicKey {
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(raw); err != nil || !jwk.IsPublic() {
		return nil
	}
	pub, ok := jwk.Key.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil
	}
	k, err := pub.ECDH()
	if err != nil {
		return nil
	}
	return k
}

func TestParsePublicKey(t *testing.T) {
	gj, x, y := jwkOf(t)
	_, x2, _ := jwkOf(t)
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	withD, _ := json.Marshal(jose.JSONWebKey{Key: priv})
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	of384, _ := json.Marshal(jose.JSONWebKey{Key: &p384.PublicKey})
	flat := `{"kty":"EC","crv":"P-256","x":"` + x + `","y":"` + y + `"}`
	for _, c := range []struct {
		name string
		raw  string
		flat bool // read by parseFlatJWK
		ok   bool // a key, by either path
	}{
		{"go-jose's JWK", gj, true, true},
		{"flat", flat, true, true},
		{"spaced and reordered", " {\n\t\"y\" : \"" + y + "\" , \"x\":\"" + x + "\",\"crv\":\"P-256\",\"kty\":\"EC\" }\r\n", true, true},
		{"with kid: go-jose's", `{"kid":"a","kty":"EC","crv":"P-256","x":"` + x + `","y":"` + y + `"}`, false, true},
		{"escaped: go-jose's", `{"kty":"\u0045C","crv":"P-256","x":"` + x + `","y":"` + y + `"}`, false, true},
		{"upper-case name: go-jose refuses", `{"KTY":"EC","crv":"P-256","x":"` + x + `","y":"` + y + `"}`, false, false},
		{"not on the curve", `{"kty":"EC","crv":"P-256","x":"` + x2 + `","y":"` + y + `"}`, false, false},
		{"private key", string(withD), false, false},
		{"P-384", string(of384), false, false},
		{"member twice: go-jose refuses", `{"kty":"EC","crv":"P-256","x":"` + x + `","x":"` + x + `","y":"` + y + `"}`, false, false},
		{"short x", `{"kty":"EC","crv":"P-256","x":"` + x[:42] + `","y":"` + y + `"}`, false, false},
		{"padded x", `{"kty":"EC","crv":"P-256","x":"` + x + `=","y":"` + y + `"}`, false, false},
		{"no y", `{"kty":"EC","crv":"P-256","x":"` + x + `"}`, false, false},
		{"RSA", `{"kty":"RSA","n":"AQAB","e":"AQAB"}`, false, false},
		{"trailing data", flat + "x", false, false},
		{"two objects", flat + flat, false, false},
		{"not an object", `"` + x + `"`, false, false},
		{"empty", ``, false, false},
		{"too large", `{"kty":"EC","crv":"P-256","x":"` + x + `","y":"` + y + `","kid":"` + strings.Repeat("k", MaxPublicKeySize) + `"}`, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, flat := parseFlatJWK([]byte(c.raw))
			if flat != c.flat {
				t.Errorf("parseFlatJWK: read %v, want %v", flat, c.flat)
			}
			k, err := parsePublicKey([]byte(c.raw))
			if (err == nil) != c.ok {
				t.Fatalf("parsePublicKey: %v, want a key: %v", err, c.ok)
			}
			if err != nil && err.Error() != "public_key must be a JWK of a P-256 public key" {
				t.Errorf("error %q", err)
			}
			if ref := goJosePublicKey([]byte(c.raw)); c.ok && len(c.raw) <= MaxPublicKeySize && (ref == nil || !ref.Equal(k)) {
				t.Errorf("go-jose reads %v, parsePublicKey %v", ref, k)
			}
		})
	}
}

// FuzzParsePublicKey checks that every key parseFlatJWK reads, go-jose
// reads as the same key: the fast path never accepts what the reference
// refuses, nor reads another key.
func FuzzParsePublicKey(f *testing.F) {
	gj, x, y := jwkOf(f)
	f.Add(gj)
	f.Add(`{"kty":"EC","crv":"P-256","x":"` + x + `","y":"` + y + `"}`)
	f.Add(`{"kty":"EC","crv":"P-256","x":"` + x + `","y":"` + y + `","d":"` + x + `"}`)
	f.Add(`{"kty":"EC", "crv":"P-256","x":"` + x + `","x":"` + y + `","y":"` + y + `"}`)
	f.Fuzz(func(t *testing.T, raw string) {
		k, ok := parseFlatJWK([]byte(raw))
		if !ok {
			return
		}
		if ref := goJosePublicKey([]byte(raw)); ref == nil || !ref.Equal(k) {
			t.Fatalf("parseFlatJWK reads %q as %x; go-jose as %v", raw, k.Bytes(), ref)
		}
	})
}
