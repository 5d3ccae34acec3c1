package kms

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/hex"
	"testing"

	"imgward"
	"imgward/errors"
)

// The known-answer vector was computed independently, with Python's
// cryptography package (AESGCM), from the format in the package comment.
const (
	katAD   = "696d67776172642d6b6d732d777261702d763100000c70726f6a6563742d6b657973000000030000002436663163376135322d336239652d346331642d386132662d306535643463336232613139"
	katWrap = "000102030405060708090a0b0743945881a0845cc508ddc0fda43622d387d567a42e092b603ebfde41345eeda5ce52dff6ab5a845b3fa77f12a95c54"
)

func katAEAD(t *testing.T) cipher.AEAD {
	master := make([]byte, 32)
	for i := range master {
		master[i] = byte(i)
	}
	b, err := aes.NewCipher(master)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(b)
	if err != nil {
		t.Fatal(err)
	}
	return aead
}

func TestKnownAnswer(t *testing.T) {
	const id, version, ad = "project-keys", 3, "6f1c7a52-3b9e-4c1d-8a2f-0e5d4c3b2a19"
	if got := hex.EncodeToString(AdditionalData(id, version, []byte(ad))); got != katAD {
		t.Errorf("AdditionalData = %s, want %s", got, katAD)
	}
	ct, _ := hex.DecodeString(katWrap)
	dk, err := Open(katAEAD(t), imgward.WrappedKey{KeyID: id, Version: version, Ciphertext: ct}, []byte(ad))
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, 32)
	for i := range want {
		want[i] = byte(0x40 + i)
	}
	if !bytes.Equal(dk, want) {
		t.Errorf("Open = %x, want %x", dk, want)
	}
}

// TestAdditionalDataUnambiguous checks that moving bytes between the key id
// and the caller's data changes the additional data.
func TestAdditionalDataUnambiguous(t *testing.T) {
	a := AdditionalData("ab", 1, []byte("c"))
	b := AdditionalData("a", 1, []byte("bc"))
	if bytes.Equal(a, b) {
		t.Error("AdditionalData is ambiguous")
	}
}

func TestSealOpen(t *testing.T) {
	aead := katAEAD(t)
	dk := NewDataKey()
	w, err := Seal(aead, "k", 1, dk, []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Ciphertext) != WrapSize {
		t.Errorf("wrap of %d bytes, want %d", len(w.Ciphertext), WrapSize)
	}
	got, err := Open(aead, w, []byte("ad"))
	if err != nil || !bytes.Equal(got, dk) {
		t.Errorf("Open = %x, %v; want %x", got, err, dk)
	}
	if _, err := Seal(aead, "k", 1, dk[:16], nil); !errors.Is(errors.Internal, err) {
		t.Errorf("Seal of a short data key: %v, want kind Internal", err)
	}
	big := make([]byte, MaxADSize+1)
	if _, err := Seal(aead, "k", 1, dk, big); !errors.Is(errors.TooLarge, err) {
		t.Errorf("Seal with too much ad: %v, want kind TooLarge", err)
	}
	if _, err := Open(aead, w, big); !errors.Is(errors.TooLarge, err) {
		t.Errorf("Open with too much ad: %v, want kind TooLarge", err)
	}
}
