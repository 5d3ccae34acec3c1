package broker

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// TestEncryptToGoJose checks that go-jose decrypts the JWE of a released
// key, and reads in it ECDH-ES with A256GCM and a P-256 ephemeral key.
func TestEncryptToGoJose(t *testing.T) {
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	key := make([]byte, 32)
	rand.Read(key)
	seen := map[string]bool{}
	for range 3 {
		tok, err := encryptTo(&priv.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		if seen[tok] {
			t.Fatal("two JWEs alike: the ephemeral key or the IV repeats")
		}
		seen[tok] = true
		obj, err := jose.ParseEncryptedCompact(tok, []jose.KeyAlgorithm{jose.ECDH_ES}, []jose.ContentEncryption{jose.A256GCM})
		if err != nil {
			t.Fatalf("go-jose parse: %v", err)
		}
		h := obj.Header
		epk, _ := h.ExtraHeaders["epk"].(map[string]any)
		if h.Algorithm != string(jose.ECDH_ES) || h.ExtraHeaders["enc"] != string(jose.A256GCM) ||
			epk["kty"] != "EC" || epk["crv"] != "P-256" || len(h.ExtraHeaders) != 2 {
			t.Fatalf("header %+v", h)
		}
		got, err := obj.Decrypt(priv)
		if err != nil || !bytes.Equal(got, key) {
			t.Fatalf("go-jose Decrypt = %x, %v", got, err)
		}
		if got, err := Open(tok, priv); err != nil || !bytes.Equal(got, key) {
			t.Fatalf("Open = %x, %v", got, err)
		}
		if _, err := Open(tok, other); err == nil {
			t.Error("another key opens the JWE")
		}
	}
}

func BenchmarkEncryptTo(b *testing.B) {
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	key := make([]byte, 32)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := encryptTo(&priv.PublicKey, key); err != nil {
			b.Fatal(err)
		}
	}
}
