package identity

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"imgward/errors"
)

// sign signs payload as a compact JWS with the given algorithm, key and
// headers, as an attacker with that key would.
func sign(t testing.TB, alg jose.SignatureAlgorithm, k any, headers map[jose.HeaderKey]any, payload []byte) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: k}, &jose.SignerOptions{ExtraHeaders: headers})
	if err != nil {
		t.Fatal(err)
	}
	jws, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// raw builds a compact JWS from its parts without signing.
func raw(header string, payload []byte, sig string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(header)) + "." + enc(payload) + "." + sig
}

func TestVerifyAttacks(t *testing.T) {
	i, _ := newIssuer(t)
	other, _ := newIssuer(t)
	r := i.state.Load()
	kid, priv, pub := r.current.kid, r.current.priv, r.current.pub
	hdr := map[jose.HeaderKey]any{"kid": kid, jose.HeaderType: TokenType}

	good := issue(t, i)
	parts := strings.Split(good, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	d := sampleDoc()
	json.Unmarshal(payload, &d)
	edit := func(f func(*Document)) []byte {
		e := d
		f(&e)
		b, _ := json.Marshal(e)
		return b
	}
	tampered := edit(func(e *Document) { e.ProjectID = "ffffffffffffffffffffffffffffffff" })
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tooBig := edit(func(e *Document) { e.Host = strings.Repeat("a", MaxTokenSize) })

	tests := []struct {
		name  string
		token string
		now   time.Time
		kind  errors.Kind // 0: valid
		msg   string
	}{
		{"valid", good, t0, 0, ""},
		{"valid within skew before issue", good, t0.Add(-ClockSkew + time.Second), 0, ""},
		{"valid within skew after expiry", good, t0.Add(DefaultTTL + ClockSkew - time.Second), 0, ""},
		{"not yet valid", good, t0.Add(-ClockSkew - time.Second), errors.Permission, "identity document not yet valid"},
		{"expired", good, t0.Add(DefaultTTL + ClockSkew), errors.Permission, "identity document expired"},
		{"forged by another key", issue(t, other), t0, errors.Permission, "unknown identity signing key"},
		{"forged with our kid", sign(t, jose.EdDSA, other.state.Load().current.priv, hdr, payload), t0, errors.Permission, "bad identity document signature"},
		{"tampered payload", parts[0] + "." + base64.RawURLEncoding.EncodeToString(tampered) + "." + parts[2], t0, errors.Permission, "bad identity document signature"},
		{"tampered signature", parts[0] + "." + parts[1] + "." + flip(parts[2]), t0, errors.Permission, "bad identity document signature"},
		{"HS256 with the public key", sign(t, jose.HS256, []byte(pub), hdr, payload), t0, errors.Permission, "identity document signature algorithm not allowed"},
		{"alg none", raw(`{"alg":"none","kid":"`+kid+`","typ":"`+TokenType+`"}`, payload, ""), t0, errors.Permission, "identity document signature algorithm not allowed"},
		{"alg None", raw(`{"alg":"None","kid":"`+kid+`","typ":"`+TokenType+`"}`, payload, ""), t0, errors.Permission, "identity document signature algorithm not allowed"},
		{"ES256", sign(t, jose.ES256, ecKey, hdr, payload), t0, errors.Permission, "identity document signature algorithm not allowed"},
		{"no alg", raw(`{"kid":"`+kid+`"}`, payload, "AAAA"), t0, errors.Permission, "identity document signature algorithm not allowed"},
		{"unknown kid", sign(t, jose.EdDSA, priv, map[jose.HeaderKey]any{"kid": "nope", jose.HeaderType: TokenType}, payload), t0, errors.Permission, "unknown identity signing key"},
		{"no kid", sign(t, jose.EdDSA, priv, map[jose.HeaderKey]any{jose.HeaderType: TokenType}, payload), t0, errors.Permission, "unknown identity signing key"},
		{"wrong typ", sign(t, jose.EdDSA, priv, map[jose.HeaderKey]any{"kid": kid, jose.HeaderType: "JWT"}, payload), t0, errors.Permission, "not an identity document"},
		{"no typ", sign(t, jose.EdDSA, priv, map[jose.HeaderKey]any{"kid": kid}, payload), t0, errors.Permission, "not an identity document"},
		{"unknown field", sign(t, jose.EdDSA, priv, hdr, []byte(strings.Replace(string(payload), "{", `{"admin":true,`, 1))), t0, errors.Invalid, "malformed identity document"},
		{"trailing data", sign(t, jose.EdDSA, priv, hdr, append(payload, "{}"...)), t0, errors.Invalid, "malformed identity document"},
		{"bad nonce", sign(t, jose.EdDSA, priv, hdr, edit(func(e *Document) { e.Nonce = "x" })), t0, errors.Invalid, "malformed identity document"},
		{"bad instance", sign(t, jose.EdDSA, priv, hdr, edit(func(e *Document) { e.InstanceID = "" })), t0, errors.Invalid, "malformed identity document"},
		{"expires before issue", sign(t, jose.EdDSA, priv, hdr, edit(func(e *Document) { e.ExpiresAt = e.IssuedAt })), t0, errors.Invalid, "malformed identity document"},
		{"too large", sign(t, jose.EdDSA, priv, hdr, tooBig), t0, errors.Invalid, "identity document too large"},
		{"JSON serialization", jsonSerialized(t, good), t0, errors.Invalid, "malformed identity document"},
		{"empty", "", t0, errors.Invalid, "malformed identity document"},
		{"garbage", "a.b.c", t0, errors.Invalid, "malformed identity document"},
	}
	for _, tt := range tests {
		d, err := i.Verify(tt.token, tt.now)
		switch {
		case tt.kind == 0 && err != nil:
			t.Errorf("%s: Verify: %v", tt.name, err)
		case tt.kind != 0 && d != nil:
			t.Errorf("%s: Verify accepted the token", tt.name)
		case tt.kind != 0 && (errors.KindOf(err) != tt.kind || errors.Message(err) != tt.msg):
			t.Errorf("%s: Verify = %v (kind %v, msg %q), want kind %v, msg %q",
				tt.name, err, errors.KindOf(err), errors.Message(err), tt.kind, tt.msg)
		}
	}
}

// flip changes the first character of a base64url string.
func flip(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}

// jsonSerialized turns a compact JWS into the JSON serialization.
func jsonSerialized(t *testing.T, tok string) string {
	jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	return jws.FullSerialize()
}

func TestEmbeddedJWK(t *testing.T) {
	i, _ := newIssuer(t)
	priv := i.state.Load().current.priv
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: priv},
		(&jose.SignerOptions{EmbedJWK: true}).WithType(TokenType))
	if err != nil {
		t.Fatal(err)
	}
	d := sampleDoc()
	d.IssuedAt, d.ExpiresAt, d.Nonce = t0, t0.Add(time.Hour), "AAAAAAAAAAAAAAAAAAAAAA"
	payload, _ := json.Marshal(d)
	jws, _ := s.Sign(payload)
	tok, _ := jws.CompactSerialize()
	if _, err := i.Verify(tok, t0); !errors.Is(errors.Permission, err) {
		t.Errorf("Verify of a token with an embedded key: %v, want kind Permission", err)
	}
}

func TestRedeem(t *testing.T) {
	ctx := context.Background()
	i, _ := newIssuer(t)
	nonces := NewMemNonceStore(0)
	tok := issue(t, i)
	if _, err := Redeem(ctx, i, nonces, tok, t0); err != nil {
		t.Fatalf("first Redeem: %v", err)
	}
	_, err := Redeem(ctx, i, nonces, tok, t0.Add(time.Second))
	if !errors.Is(errors.Permission, err) || errors.Message(err) != "identity document already used" {
		t.Errorf("replayed Redeem: %v, want kind Permission", err)
	}
	if _, err := Redeem(ctx, i, nonces, issue(t, i), t0); err != nil {
		t.Errorf("Redeem of a second document: %v", err)
	}
	if _, err := Redeem(ctx, i, nonces, "junk", t0); !errors.Is(errors.Invalid, err) {
		t.Errorf("Redeem of junk: %v, want kind Invalid", err)
	}
	if n := nonces.Len(); n != 2 {
		t.Errorf("%d nonces spent, want 2: a bad token spends none", n)
	}
}
