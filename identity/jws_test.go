package identity

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"
)

// TestGoJoseVerifiesOurs checks that go-jose parses and verifies a document
// we issue, and sees our header: EdDSA, our kid, our typ. Ed25519 is
// deterministic, so go-jose signing the same payload makes the same token.
func TestGoJoseVerifiesOurs(t *testing.T) {
	i, _ := newIssuer(t)
	r := i.state.Load()
	tok := issue(t, i)
	jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	h := jws.Signatures[0].Protected
	if h.Algorithm != string(jose.EdDSA) || h.KeyID != r.current.kid || h.ExtraHeaders[jose.HeaderType] != TokenType {
		t.Errorf("header %+v", h)
	}
	payload, err := jws.Verify(r.current.pub)
	if err != nil {
		t.Fatalf("go-jose Verify: %v", err)
	}
	var d Document
	if err := json.Unmarshal(payload, &d); err != nil || d.InstanceID != sampleDoc().InstanceID {
		t.Errorf("payload %s (%v)", payload, err)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: r.current.priv},
		(&jose.SignerOptions{}).WithType(TokenType).WithHeader("kid", r.current.kid))
	if err != nil {
		t.Fatal(err)
	}
	obj, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	theirs, _ := obj.CompactSerialize()
	if theirs != tok {
		t.Errorf("go-jose signs\n%s\nwe issued\n%s", theirs, tok)
	}
}

// TestWeVerifyGoJose checks that Verify accepts a document go-jose signs
// with a key of the ring, and the JWKS a KeySet reads.
func TestWeVerifyGoJose(t *testing.T) {
	i, _ := newIssuer(t)
	r := i.state.Load()
	d := sampleDoc()
	d.IssuedAt, d.ExpiresAt, d.Nonce = t0, t0.Add(DefaultTTL), "AAAAAAAAAAAAAAAAAAAAAA"
	payload, _ := json.Marshal(d)
	tok := sign(t, jose.EdDSA, r.current.priv, map[jose.HeaderKey]any{"kid": r.current.kid, jose.HeaderType: TokenType}, payload)
	for name, v := range map[string]Verifier{"issuer": i, "keyset": mustKeySet(t, i.Keys())} {
		got, err := v.Verify(tok, t0)
		if err != nil {
			t.Fatalf("%s: Verify of go-jose's token: %v", name, err)
		}
		if *got != d {
			t.Errorf("%s: Verify = %+v, want %+v", name, *got, d)
		}
	}
}

func mustKeySet(t *testing.T, jwks jose.JSONWebKeySet) *KeySet {
	t.Helper()
	data, _ := json.Marshal(jwks)
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(data, &set); err != nil {
		t.Fatal(err)
	}
	s, err := NewKeySet(set)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestVerifyStrictEncoding checks what the hand-made parser refuses beyond
// the attacks of TestVerifyAttacks: a header named twice, headers ours
// never carry (crit among them), padding, stray bits, a fourth part.
func TestVerifyStrictEncoding(t *testing.T) {
	i, _ := newIssuer(t)
	r := i.state.Load()
	good := issue(t, i)
	parts := strings.Split(good, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	enc := base64.RawURLEncoding.EncodeToString
	resign := func(header string) string {
		return signCompact(enc([]byte(header)), r.current.priv, payload)
	}
	kid := r.current.kid
	for name, tok := range map[string]string{
		"alg twice":   resign(`{"alg":"none","alg":"EdDSA","kid":"` + kid + `","typ":"` + TokenType + `"}`),
		"typ twice":   resign(`{"alg":"EdDSA","kid":"` + kid + `","typ":"JWT","typ":"` + TokenType + `"}`),
		"crit":        resign(`{"alg":"EdDSA","crit":["b64"],"b64":false,"kid":"` + kid + `","typ":"` + TokenType + `"}`),
		"x5u":         resign(`{"alg":"EdDSA","kid":"` + kid + `","typ":"` + TokenType + `","x5u":"https://example.net/"}`),
		"kid number":  resign(`{"alg":"EdDSA","kid":1,"typ":"` + TokenType + `"}`),
		"header list": resign(`[]`),
		"header tail": resign(`{"alg":"EdDSA","kid":"` + kid + `","typ":"` + TokenType + `"}{}`),
		"padding":     parts[0] + "." + parts[1] + "." + parts[2] + "==",
		"four parts":  good + ".",
		"stray bits":  parts[0] + "." + parts[1] + "." + parts[2][:len(parts[2])-1] + "B",
	} {
		if d, err := i.Verify(tok, t0); err == nil {
			t.Errorf("%s: Verify accepted %+v", name, d)
		}
	}
	// The same header with other spacing and order is still ours.
	tok := resign(`{ "typ":"` + TokenType + `", "kid":"` + kid + `", "alg":"EdDSA" }`)
	if _, err := i.Verify(tok, t0); err != nil {
		t.Errorf("reordered header: %v", err)
	}
}

// TestHeaderCache checks that a header read from the cache is what parsing
// it gives, that errors are never cached, and that the cache stays bounded.
func TestHeaderCache(t *testing.T) {
	for _, tt := range []struct {
		name, json string
		want       header
		wantErr    bool
	}{
		{"ours", `{"alg":"EdDSA","kid":"k1","typ":"` + TokenType + `"}`, header{alg: "EdDSA", kid: "k1", typ: TokenType}, false},
		{"another kid", `{"alg":"EdDSA","kid":"k2","typ":"` + TokenType + `"}`, header{alg: "EdDSA", kid: "k2", typ: TokenType}, false},
		{"typ a number", `{"alg":"EdDSA","typ":7}`, header{alg: "EdDSA", typ: float64(7)}, false},
		{"typ an object", `{"typ":{"a":1}}`, header{typ: map[string]any{"a": float64(1)}}, false},
		{"embedded key", `{"alg":"EdDSA","jwk":{}}`, header{alg: "EdDSA", jwk: true}, false},
		{"crit", `{"alg":"EdDSA","crit":["x"]}`, header{alg: "EdDSA", extra: "crit"}, false},
		{"a name twice", `{"alg":"EdDSA","alg":"none"}`, header{}, true},
		{"alg not a string", `{"alg":1}`, header{}, true},
		{"trailing data", `{"alg":"EdDSA"}x`, header{}, true},
	} {
		enc := base64.RawURLEncoding.EncodeToString([]byte(tt.json))
		for _, round := range []string{"first", "again"} {
			got, err := parsedHeaders.parse(enc)
			if (err != nil) != tt.wantErr {
				t.Errorf("%s, %s: error %v, want error %v", tt.name, round, err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(header{})); !tt.wantErr && diff != "" {
				t.Errorf("%s, %s: header (-want +got):\n%s", tt.name, round, diff)
			}
		}
	}
	for i := range 3 * maxHeaders {
		if _, err := parsedHeaders.parse(base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, `{"kid":"%d"}`, i))); err != nil {
			t.Fatal(err)
		}
	}
	parsedHeaders.mu.Lock()
	n := len(parsedHeaders.m)
	parsedHeaders.mu.Unlock()
	if n > maxHeaders {
		t.Errorf("%d headers cached, want at most %d", n, maxHeaders)
	}
}
