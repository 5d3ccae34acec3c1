// Package kms holds what the KeyService backends share: the format of a
// wrapped key, so that a wrap reads the same whichever backend made it.
//
// The backends, one package each with the same type names:
//
//	kms/local    master keys in a 0600 file (the embedded default)
//	kms/pkcs11   master keys in an HSM through PKCS#11 (build tag pkcs11)
//	kms/kmstest  the conformance suite every backend passes
//
// A wrap is nonce || AES-256-GCM(master, nonce, dataKey, AD), with a 12-byte
// random nonce, where AD is
//
//	"imgward-kms-wrap-v1" 0x00
//	uint16 len(keyID) || keyID
//	uint32 version
//	uint32 len(ad) || ad
//
// all integers big-endian. Random nonces limit a master key version to about
// 2^32 wraps; rotate long before that.
package kms

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"

	"imgward"
	"imgward/errors"
)

const (
	nonceSize = 12
	tagSize   = 16
	// WrapSize is the length of a wrapped data key's ciphertext.
	WrapSize = nonceSize + imgward.DataKeySize + tagSize
	// MaxADSize bounds the caller's additional data.
	MaxADSize = 4096
)

const adPrefix = "imgward-kms-wrap-v1\x00"

// AdditionalData returns the AEAD additional data of a wrap under version of
// key id, bound to the caller's ad.
func AdditionalData(id imgward.KeyID, version uint32, ad []byte) []byte {
	b := make([]byte, 0, len(adPrefix)+2+len(id)+4+4+len(ad))
	b = append(b, adPrefix...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(id)))
	b = append(b, id...)
	b = binary.BigEndian.AppendUint32(b, version)
	b = binary.BigEndian.AppendUint32(b, uint32(len(ad)))
	return append(b, ad...)
}

// NewDataKey returns a fresh random data key.
func NewDataKey() []byte {
	k := make([]byte, imgward.DataKeySize)
	rand.Read(k) // never fails; see crypto/rand
	return k
}

// Seal wraps dataKey with aead, a master key version's AES-256-GCM, under a
// fresh random nonce.
func Seal(aead cipher.AEAD, id imgward.KeyID, version uint32, dataKey, ad []byte) (imgward.WrappedKey, error) {
	const op = "kms.Seal"
	if aead.NonceSize() != nonceSize || aead.Overhead() != tagSize {
		return imgward.WrappedKey{}, errors.E(op, errors.Internal, errors.New("master key is not AES-GCM with 12-byte nonces"))
	}
	if len(dataKey) != imgward.DataKeySize {
		return imgward.WrappedKey{}, errors.E(op, errors.Internal, errors.Errorf("data key of %d bytes", len(dataKey)))
	}
	if len(ad) > MaxADSize {
		return imgward.WrappedKey{}, errors.E(op, errors.TooLarge, errors.Msg("additional data too large"))
	}
	nonce := make([]byte, nonceSize, WrapSize)
	rand.Read(nonce)
	ct := aead.Seal(nonce, nonce, dataKey, AdditionalData(id, version, ad))
	return imgward.WrappedKey{KeyID: id, Version: version, Ciphertext: ct}, nil
}

// Open unwraps w with aead, the master key version that w names.
func Open(aead cipher.AEAD, w imgward.WrappedKey, ad []byte) ([]byte, error) {
	const op = "kms.Open"
	if err := Check(w, ad); err != nil {
		return nil, err
	}
	ct := w.Ciphertext
	k, err := aead.Open(nil, ct[:nonceSize], ct[nonceSize:], AdditionalData(w.KeyID, w.Version, ad))
	if err != nil || len(k) != imgward.DataKeySize {
		return nil, errors.E(op, errors.Invalid, errors.Msg("wrapped key does not open"), err)
	}
	return k, nil
}

// Check reports an error of kind Invalid if w or ad is malformed, before any
// key is looked up.
func Check(w imgward.WrappedKey, ad []byte) error {
	const op = "kms.Check"
	switch {
	case !w.KeyID.Valid():
		return errors.E(op, errors.Invalid, errors.Msg("malformed key id"))
	case w.Version == 0:
		return errors.E(op, errors.Invalid, errors.Msg("key version 0"))
	case len(w.Ciphertext) != WrapSize:
		return errors.E(op, errors.Invalid, errors.Msg("wrapped key has the wrong length"))
	case len(ad) > MaxADSize:
		return errors.E(op, errors.TooLarge, errors.Msg("additional data too large"))
	}
	return nil
}

// CheckID reports an error of kind Invalid if id is malformed.
func CheckID(op string, id imgward.KeyID) error {
	if !id.Valid() {
		return errors.E(op, errors.Invalid, errors.Msg("malformed key id"))
	}
	return nil
}
