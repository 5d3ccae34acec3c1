package imgward

import (
	"context"
	"crypto/ed25519"
)

// KeyID names a master key of a KeyService: 1 to 128 characters from
// [A-Za-z0-9._-], starting with a letter or digit. A key has versions 1, 2,
// 3...; rotation adds a version and makes it current.
type KeyID string

// Valid reports whether id is well formed.
func (id KeyID) Valid() bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for i, c := range []byte(id) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case (c == '.' || c == '_' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// DataKeySize is the length of a data key: an AES-256 key.
const DataKeySize = 32

// WrappedKey is a data key encrypted under one version of a master key. It is
// safe to store next to the data it protects: without the KeyService it is
// useless.
//
// Ciphertext is, for every backend, a 12-byte random nonce followed by the
// AES-256-GCM encryption of the data key and its 16-byte tag. The additional
// data of that encryption binds the key id, the version and the caller's
// context (see KeyService), so that a wrapped key cannot be moved to another
// key, version or image.
type WrappedKey struct {
	KeyID      KeyID
	Version    uint32
	Ciphertext []byte
}

// KeyService is envelope encryption: each image is encrypted with its own
// random data key, and the data key is stored wrapped by a master key that
// never leaves the service. Master keys are never handed out; the service
// offers operations on them. Implementations: kms/local (a key file, the
// embedded default) and kms/pkcs11 (an HSM; build tag pkcs11).
//
// Master keys have versions. Rotate adds a version that wraps from then on;
// older versions still unwrap until they are retired, and Rewrap moves a
// wrapped key to the current version without touching the image it protects.
//
// Every method taking ad binds the wrap to it as additional data: the caller's
// context, such as the image id, that must be given again to unwrap. A nil ad
// and an empty ad are the same; an ad over 4 KiB is TooLarge.
//
// Errors: an unknown key id or version is NotExist; a malformed key id is
// Invalid; a wrapped key that does not open (tampered, or wrong ad, key or
// version) is Invalid; a failure of the key store is Unavailable. A canceled
// ctx ends the call with ctx's error.
type KeyService interface {
	// CreateKey creates master key id with version 1. Exist if id is taken.
	// Not an oracle.
	CreateKey(ctx context.Context, id KeyID) error

	// GenerateDataKey returns a fresh random data key of DataKeySize bytes
	// and its wrap under the current version of master key id, bound to ad.
	// The caller uses the plaintext, stores only the wrap, and clears the
	// plaintext when done. Not an oracle: the caller never chooses what is
	// wrapped, which is why there is no Wrap method.
	GenerateDataKey(ctx context.Context, id KeyID, ad []byte) (plaintext []byte, w WrappedKey, err error)

	// Unwrap returns the data key wrapped in w, if w opens with ad.
	// Unwrap IS a decryption oracle: whoever may call it may read every
	// image whose wrapped key he holds. Only the key broker, after it has
	// checked the caller's identity and binding, may call it.
	Unwrap(ctx context.Context, w WrappedKey, ad []byte) ([]byte, error)

	// Rewrap returns the data key of w wrapped anew, under the current
	// version of its key and bound to the same ad. The data key stays inside the service, so Rewrap reveals no
	// plaintext; but it keeps a wrap alive past the retirement of its
	// version, so only the rotation job may call it.
	Rewrap(ctx context.Context, w WrappedKey, ad []byte) (WrappedKey, error)

	// Rotate adds a new version to master key id, makes it current and
	// returns it. Not an oracle; an administrative operation.
	Rotate(ctx context.Context, id KeyID) (version uint32, err error)

	// Retire destroys a version of master key id: wraps under it no longer
	// open, ever. Rewrap every wrap under it first. Conflict when version is
	// current. Not an oracle, but it destroys data: an administrative
	// operation.
	Retire(ctx context.Context, id KeyID, version uint32) error

	// PublicKey returns the Ed25519 public key of master key id's signing
	// key, the one Sign uses. The private key never leaves the service.
	PublicKey(ctx context.Context, id KeyID) (ed25519.PublicKey, error)

	// Sign signs msg (at most MaxSignSize bytes) with master key id's
	// Ed25519 signing key. Not an oracle for data keys: it signs, and the
	// signature only proves that the service signed msg; callers sign
	// checkpoints of the audit log.
	Sign(ctx context.Context, id KeyID, msg []byte) ([]byte, error)

	// Close releases the service's resources.
	Close() error
}

// MaxSignSize bounds a message given to KeyService.Sign.
const MaxSignSize = 64 << 10
