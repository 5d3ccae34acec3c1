package broker

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"

	"imgward/errors"
)

// parsePublicKey reads the requester's JWK: a public P-256 key, nothing
// else, so that the JWE can only be opened with its private half. The
// common shape (see parseFlatJWK) is read without go-jose; any other is
// left to go-jose, which decides it as it always has.
func parsePublicKey(raw []byte) (*ecdh.PublicKey, error) {
	if len(raw) > 0 && len(raw) <= MaxPublicKeySize {
		if pub, ok := parseFlatJWK(raw); ok {
			return pub, nil
		}
	}
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
	k, err := pub.ECDH()
	if err != nil {
		return nil, bad
	}
	return k, nil
}

// jweHeader is the protected header of a released key's JWE (RFC 7518,
// section 4.6): ECDH-ES key agreement used directly as the A256GCM content
// key, and the ephemeral key's coordinates (base64url, which JSON need not
// escape) in place of the two %s. The text is what json.Marshal made of it
// before, byte for byte (TestJWEHeaderText).
const jweHeader = `{"alg":"ECDH-ES","enc":"A256GCM","epk":{"kty":"EC","crv":"P-256","x":"%s","y":"%s"}}`

var b64 = base64.RawURLEncoding

// encryptTo encrypts key to pub as a compact JWE: ECDH-ES key agreement
// with an ephemeral P-256 key, A256GCM content. Made with crypto/ecdh
// rather than go-jose, whose ephemeral key (an ecdsa key, with the
// conversions of crypto/elliptic) cost a tenth of a release's CPU; go-jose
// and Open decrypt it (TestEncryptToGoJose).
func encryptTo(peer *ecdh.PublicKey, key []byte) (string, error) {
	eph, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return "", err
	}
	z, err := eph.ECDH(peer)
	if err != nil {
		return "", err
	}
	point := eph.PublicKey().Bytes() // 0x04 || X || Y
	hdr := fmt.Appendf(nil, jweHeader, b64.EncodeToString(point[1:33]), b64.EncodeToString(point[33:65]))
	cek := concatKDF(z, "A256GCM", 256)
	clear(z)
	block, err := aes.NewCipher(cek)
	clear(cek)
	if err != nil {
		return "", err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return "", err
	}
	iv := make([]byte, aead.NonceSize())
	rand.Read(iv)
	protected := b64.EncodeToString(hdr)
	sealed := aead.Seal(nil, iv, key, []byte(protected)) // ciphertext || tag
	ct, tag := sealed[:len(sealed)-aead.Overhead()], sealed[len(sealed)-aead.Overhead():]
	// header . (no encrypted key with direct agreement) . iv . ciphertext . tag
	return protected + ".." + b64.EncodeToString(iv) + "." + b64.EncodeToString(ct) + "." + b64.EncodeToString(tag), nil
}

// concatKDF derives a key of bits bits (at most 256) from the shared
// secret z for algorithm alg, with empty PartyUInfo and PartyVInfo: the
// single-step KDF of NIST SP 800-56A with SHA-256, as RFC 7518, section
// 4.6.2 has it.
func concatKDF(z []byte, alg string, bits uint32) []byte {
	h := sha256.New()
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], 1) // the round
	h.Write(n[:])
	h.Write(z)
	binary.BigEndian.PutUint32(n[:], uint32(len(alg)))
	h.Write(n[:])
	h.Write([]byte(alg))
	binary.BigEndian.PutUint32(n[:], 0) // PartyUInfo, PartyVInfo: empty
	h.Write(n[:])
	h.Write(n[:])
	binary.BigEndian.PutUint32(n[:], bits) // SuppPubInfo
	h.Write(n[:])
	return h.Sum(nil)[:bits/8]
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
