package identity

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"time"

	"github.com/go-jose/go-jose/v4"

	"imgward/errors"
)

// Verifier verifies identity documents.
type Verifier interface {
	// Verify checks token's signature, by the key its "kid" names, and
	// that the document is valid at now, give or take ClockSkew. Only
	// EdDSA signatures are accepted. It does not check the nonce: see
	// Redeem. Errors are of kind Invalid for a malformed token and
	// Permission for one that is not trusted; their Msg is safe to show.
	Verify(token string, now time.Time) (*Document, error)
}

// KeySet verifies documents with a set of public keys, such as the JWKS
// that an Issuer publishes.
type KeySet struct {
	keys map[string]ed25519.PublicKey // by key id
}

var _ Verifier = (*KeySet)(nil)

// NewKeySet returns a KeySet of the Ed25519 keys in jwks. A key that is not
// an Ed25519 public key, or has no key id, is an error of kind Invalid.
func NewKeySet(jwks jose.JSONWebKeySet) (*KeySet, error) {
	const op = "identity.NewKeySet"
	s := &KeySet{keys: make(map[string]ed25519.PublicKey, len(jwks.Keys))}
	for _, k := range jwks.Keys {
		pub, ok := k.Key.(ed25519.PublicKey)
		if !ok || len(pub) != ed25519.PublicKeySize || k.KeyID == "" || (k.Algorithm != "" && k.Algorithm != string(jose.EdDSA)) {
			return nil, errors.E(op, errors.Invalid, errors.Errorf("key %q is not an Ed25519 public key", k.KeyID))
		}
		s.keys[k.KeyID] = pub
	}
	return s, nil
}

// Verify implements Verifier.
func (s *KeySet) Verify(token string, now time.Time) (*Document, error) {
	return s.verify(token, now, nil)
}

// verify is Verify, except that the signature is not checked again when
// signer, not nil, is the key that signed a byte-identical token in this
// process (signedCache), and is the key of s that the token names.
func (s *KeySet) verify(token string, now time.Time, signer *key) (*Document, error) {
	const op = "identity.Verify"
	deny := func(msg string, err error) error { return errors.E(op, errors.Permission, errors.Msg(msg), err) }
	bad := func(msg string, err error) error { return errors.E(op, errors.Invalid, errors.Msg(msg), err) }

	if len(token) > MaxTokenSize {
		return nil, bad("identity document too large", nil)
	}
	c, err := parseCompact(token)
	if err != nil {
		return nil, bad("malformed identity document", err)
	}
	switch {
	case c.alg != algEdDSA:
		return nil, deny("identity document signature algorithm not allowed", errors.Errorf("alg %q", c.alg))
	case c.typ != TokenType:
		return nil, deny("not an identity document", errors.Errorf("typ %v", c.typ))
	case c.jwk: // never trust a key that the token brings along
		return nil, deny("identity document embeds a key", nil)
	case c.extra != "": // ours carry alg, kid and typ only; "crit" among others
		return nil, deny("not an identity document", errors.Errorf("header %q", c.extra))
	}
	pub := s.keys[c.kid]
	if pub == nil {
		return nil, deny("unknown identity signing key", errors.Errorf("kid %q", c.kid))
	}
	known := signer != nil && signer.kid == c.kid && bytes.Equal(signer.pub, pub)
	if !known && !ed25519.Verify(pub, []byte(c.signed), c.signature) {
		return nil, deny("bad identity document signature", nil)
	}
	payload := c.payload
	d, err := decodeDocument(payload)
	if err != nil {
		return nil, bad("malformed identity document", err)
	}
	switch {
	case now.Add(ClockSkew).Before(d.IssuedAt):
		return nil, deny("identity document not yet valid", nil)
	case !now.Before(d.ExpiresAt.Add(ClockSkew)):
		return nil, deny("identity document expired", nil)
	}
	return d, nil
}

// decodeDocument parses a document strictly: no unknown fields, nothing
// after it, every field well formed.
func decodeDocument(payload []byte) (*Document, error) {
	d, ok := decodeFlat(payload) // the shape Issue writes, without reflection
	if !ok {
		dec := json.NewDecoder(bytes.NewReader(payload))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&d); err != nil {
			return nil, err
		}
		if _, err := dec.Token(); err != io.EOF {
			return nil, errors.New("data after the document")
		}
	}
	if err := d.check(); err != nil {
		return nil, err
	}
	return &d, nil
}

// Redeem verifies token with v and spends its nonce in nonces, so that a
// document is accepted once. A document already redeemed is an error of
// kind Permission.
func Redeem(ctx context.Context, v Verifier, nonces NonceStore, token string, now time.Time) (*Document, error) {
	const op = "identity.Redeem"
	d, err := v.Verify(token, now)
	if err != nil {
		return nil, errors.E(op, err)
	}
	err = nonces.Use(ctx, d.Nonce, d.ExpiresAt.Add(ClockSkew))
	if errors.Is(errors.Conflict, err) {
		return nil, errors.E(op, errors.Permission, errors.Msg("identity document already used"), err)
	} else if err != nil {
		return nil, errors.E(op, err)
	}
	Spent(v, token)
	return d, nil
}

// Spent tells v that token's nonce has been spent, if v keeps anything
// about tokens (an Issuer forgets the token: Issuer.Redeemed). A caller
// that spends nonces itself, such as the key broker in its transaction,
// calls it once the spending has committed.
func Spent(v Verifier, token string) {
	if r, ok := v.(interface{ Redeemed(token string) }); ok {
		r.Redeemed(token)
	}
}
