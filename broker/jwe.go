package broker

import (
	"crypto/ecdsa"
	"crypto/elliptic"

	jose "github.com/go-jose/go-jose/v4"

	"imgward/errors"
)

// parsePublicKey reads the requester's JWK: a public P-256 key, nothing
// else, so that the JWE can only be opened with its private half.
func parsePublicKey(raw []byte) (*ecdsa.PublicKey, error) {
	bad := errors.E(errors.Invalid, errors.Msg("public_key must be a JWK of a P-256 public key"))
	if len(raw) == 0 || len(raw) > MaxPublicKeySize {
		return nil, bad
	}
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(raw); err != nil || !jwk.IsPublic() {
		return nil, bad
	}
	pub, ok := jwk.Key.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, bad
	}
	return pub, nil
}

// encryptTo encrypts key to pub: ECDH-ES key agreement, A256GCM content.
func encryptTo(pub *ecdsa.PublicKey, key []byte) (string, error) {
	enc, err := jose.NewEncrypter(jose.A256GCM, jose.Recipient{Algorithm: jose.ECDH_ES, Key: pub}, nil)
	if err != nil {
		return "", err
	}
	obj, err := enc.Encrypt(key)
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
}

// Open decrypts a released key with the private half of the requester's
// ephemeral key, accepting only ECDH-ES with A256GCM. The host side of the
// protocol, for imgward image fetch and tests.
func Open(jwe string, priv *ecdsa.PrivateKey) ([]byte, error) {
	obj, err := jose.ParseEncryptedCompact(jwe, []jose.KeyAlgorithm{jose.ECDH_ES}, []jose.ContentEncryption{jose.A256GCM})
	if err != nil {
		return nil, errors.E("broker.Open", errors.Invalid, errors.Msg("malformed key"), err)
	}
	key, err := obj.Decrypt(priv)
	if err != nil {
		return nil, errors.E("broker.Open", errors.Invalid, errors.Msg("key does not decrypt"), err)
	}
	return key, nil
}
