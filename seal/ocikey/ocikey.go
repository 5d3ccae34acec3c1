// Package ocikey is the key annotation that imgward, as an ocicrypt key
// provider, writes into an encrypted OCI image: each encrypted layer's
// symmetric key options (ocicrypt's "optsdata": the layer cipher, key and
// nonce) sealed under the image's data key, behind the image id in the clear.
//
// The image id is in the clear so that a host decrypting the image knows
// which data key to ask the broker for; it is authenticated as additional
// data, so that an annotation moved to another image's name does not open
// even with that image's key. docs/FORMATS.md section 3 specifies the bytes.
package ocikey

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"

	"imgward"
	"imgward/errors"
)

// The constants of annotation version 1.
const (
	// Provider is the key provider's name in ocicrypt configuration, and in
	// skopeo's --encryption-key provider:imgward:IMAGE_ID.
	Provider = "imgward"
	// AnnotationID is the layer annotation under which ocicrypt stores what
	// Wrap returns, base64-encoded.
	AnnotationID = "org.opencontainers.image.enc.keys.provider." + Provider

	Magic   = "IMGWOCIK"
	Version = 1

	// MaxImageIDLen bounds the image id, as the sealed format does.
	MaxImageIDLen = 64
	// MaxOptsSize bounds the wrapped options: ocicrypt's are a few hundred
	// bytes of JSON, so anything near this is not from ocicrypt.
	MaxOptsSize = 16 << 10

	nonceSize = 12
	tagSize   = 16
	kdfInfo   = "imgward-ocicrypt-v1\x00"
)

// ErrAuth means that an annotation does not open: a wrong data key, or an
// edited annotation. The two cannot be told apart, by design.
var ErrAuth = errors.New("wrong key, or tampered annotation")

// Wrap seals opts under dataKey for image imageID and returns the
// annotation.
func Wrap(dataKey []byte, imageID string, opts []byte) ([]byte, error) {
	nonce := make([]byte, nonceSize)
	rand.Read(nonce) // never fails
	return wrap(dataKey, imageID, opts, nonce)
}

// wrap is Wrap with a given nonce, for known-answer tests.
func wrap(dataKey []byte, imageID string, opts, nonce []byte) ([]byte, error) {
	const op = "ocikey.Wrap"
	aead, err := newAEAD(op, dataKey)
	if err != nil {
		return nil, err
	}
	if !validID(imageID) {
		return nil, errors.E(op, errors.Invalid, errors.Msg("image id must be 1 to 64 printable ASCII characters"))
	}
	if len(opts) > MaxOptsSize {
		return nil, errors.E(op, errors.TooLarge, errors.Msg("key options too large"))
	}
	b := make([]byte, 0, len(Magic)+2+len(imageID)+nonceSize+len(opts)+tagSize)
	b = append(b, Magic...)
	b = append(b, Version, byte(len(imageID)))
	b = append(b, imageID...)
	b = append(b, nonce...)
	return aead.Seal(b, nonce, opts, b), nil
}

// ImageID returns the image id an annotation names, without a key: use it
// only to choose the key to ask for.
func ImageID(annotation []byte) (string, error) {
	id, _, err := parse("ocikey.ImageID", annotation)
	return id, err
}

// Unwrap opens an annotation with dataKey and returns the image id it names
// and the key options. Errors are of kind Invalid: ErrAuth for a wrong key
// or an edited annotation, a message for a malformed one.
func Unwrap(dataKey, annotation []byte) (imageID string, opts []byte, err error) {
	const op = "ocikey.Unwrap"
	id, n, err := parse(op, annotation)
	if err != nil {
		return "", nil, err
	}
	aead, err := newAEAD(op, dataKey)
	if err != nil {
		return "", nil, err
	}
	ad := annotation[:n]
	opts, err = aead.Open(nil, ad[n-nonceSize:], annotation[n:], ad)
	if err != nil {
		return "", nil, errors.E(op, errors.Invalid, ErrAuth)
	}
	return id, opts, nil
}

// parse checks an annotation's structure and returns its image id and the
// length of its part in the clear (magic to nonce).
func parse(op string, a []byte) (string, int, error) {
	bad := func(msg string) (string, int, error) {
		return "", 0, errors.E(op, errors.Invalid, errors.Msg("not an imgward key annotation: "+msg))
	}
	switch {
	case len(a) < len(Magic)+2 || string(a[:len(Magic)]) != Magic:
		return bad("bad magic")
	case a[len(Magic)] != Version:
		return bad("unsupported version")
	}
	l := int(a[len(Magic)+1])
	n := len(Magic) + 2 + l + nonceSize
	switch {
	case len(a) < n+tagSize:
		return bad("too short")
	case len(a) > n+tagSize+MaxOptsSize:
		return bad("too long")
	}
	id := string(a[len(Magic)+2 : len(Magic)+2+l])
	if !validID(id) {
		return bad("image id is not 1 to 64 printable ASCII characters")
	}
	return id, n, nil
}

// newAEAD derives the annotation key from the data key, so that the data
// key itself never keys two different constructions.
func newAEAD(op string, dataKey []byte) (cipher.AEAD, error) {
	if len(dataKey) != imgward.DataKeySize {
		return nil, errors.E(op, errors.Invalid, errors.Msg("data key must be 32 bytes"))
	}
	k, err := hkdf.Key(sha256.New, dataKey, nil, kdfInfo, 32)
	if err != nil {
		return nil, errors.E(op, errors.Internal, err)
	}
	defer clear(k)
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, errors.E(op, errors.Internal, err)
	}
	return cipher.NewGCM(block)
}

func validID(s string) bool {
	if len(s) == 0 || len(s) > MaxImageIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
