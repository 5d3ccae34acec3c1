package broker

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
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
	peer, _ := priv.PublicKey.ECDH()
	for range 3 {
		tok, err := encryptTo(peer, key)
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

// TestJWEHeaderText checks that the header written from a template is the
// text that json.Marshal made of the header's struct before it: the JWE's
// bytes are the same format as they were.
func TestJWEHeaderText(t *testing.T) {
	type epk struct {
		Kty string `json:"kty"`
		Crv string `json:"crv"`
		X   string `json:"x"`
		Y   string `json:"y"`
	}
	type header struct {
		Alg string `json:"alg"`
		Enc string `json:"enc"`
		Epk epk    `json:"epk"`
	}
	priv, _ := ecdh.P256().GenerateKey(rand.Reader)
	peer, _ := ecdh.P256().GenerateKey(rand.Reader)
	tok, err := encryptTo(peer.PublicKey(), make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	got, err := b64.DecodeString(strings.Split(tok, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h header
	if err := json.Unmarshal(got, &h); err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(h)
	if !bytes.Equal(got, want) || h.Alg != "ECDH-ES" || h.Enc != "A256GCM" || h.Epk.Kty != "EC" || h.Epk.Crv != "P-256" {
		t.Errorf("header\n%s\nwant\n%s", got, want)
	}
	// and a template of another key's coordinates reads back as them
	point := priv.PublicKey().Bytes()
	x, y := b64.EncodeToString(point[1:33]), b64.EncodeToString(point[33:])
	want, _ = json.Marshal(header{Alg: "ECDH-ES", Enc: "A256GCM", Epk: epk{Kty: "EC", Crv: "P-256", X: x, Y: y}})
	if got := fmt.Sprintf(jweHeader, x, y); got != string(want) {
		t.Errorf("template\n%s\nwant\n%s", got, want)
	}
}

func BenchmarkEncryptTo(b *testing.B) {
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	peer, _ := priv.PublicKey.ECDH()
	key := make([]byte, 32)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := encryptTo(peer, key); err != nil {
			b.Fatal(err)
		}
	}
}
