package ocikey

import (
	"bytes"
	"encoding/hex"
	"testing"

	"imgward/errors"
)

var (
	key   = bytes.Repeat([]byte{1}, 32)
	other = bytes.Repeat([]byte{2}, 32)
	opts  = []byte(`{"cipher":"AES_256_CTR_HMAC_SHA256","cipheroptions":{"symkey":"..."}}`)
)

func TestRoundTrip(t *testing.T) {
	a, err := Wrap(key, "img-1", opts)
	if err != nil {
		t.Fatal(err)
	}
	if id, err := ImageID(a); err != nil || id != "img-1" {
		t.Fatalf("ImageID = %q, %v", id, err)
	}
	id, got, err := Unwrap(key, a)
	if err != nil || id != "img-1" || !bytes.Equal(got, opts) {
		t.Fatalf("Unwrap = %q, %q, %v", id, got, err)
	}
}

// TestKnownAnswer pins the format of docs/FORMATS.md section 3, with a
// vector computed by an independent implementation (Python's cryptography):
// data key 00..1f, image id "img-1", nonce 80..8b, options {"k":1}.
func TestKnownAnswer(t *testing.T) {
	dk := make([]byte, 32)
	nonce := make([]byte, 12)
	for i := range dk {
		dk[i] = byte(i)
	}
	for i := range nonce {
		nonce[i] = byte(0x80 + i)
	}
	const want = "494d47574f43494b0105696d672d31808182838485868788898a8b35237f1b752dd50555111b28ed8cdbe219f6ec7234b9ea"
	a, err := wrap(dk, "img-1", []byte(`{"k":1}`), nonce)
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(a); got != want {
		t.Fatalf("annotation\n got %s\nwant %s", got, want)
	}
}

func TestUnwrapRejects(t *testing.T) {
	a, _ := Wrap(key, "img-1", opts)
	renamed := bytes.Clone(a)
	renamed[len(Magic)+2] = 'J' // "jmg-1": the same length, another image
	flipped := bytes.Clone(a)
	flipped[len(flipped)-1] ^= 1
	for _, tc := range []struct {
		name string
		key  []byte
		a    []byte
		auth bool // fails authentication, rather than parsing
	}{
		{"wrong key", other, a, true},
		{"renamed image", key, renamed, true},
		{"flipped tag", key, flipped, true},
		{"truncated", key, a[:len(a)-17], true},
		{"shorter than a tag", key, a[:len(Magic)+2+5+12+15], false},
		{"empty", key, nil, false},
		{"bad magic", key, append([]byte("IMGWOCIX"), a[8:]...), false},
		{"bad version", key, append(append([]byte(Magic), 2), a[9:]...), false},
		{"short key", key[:16], a, false},
	} {
		_, _, err := Unwrap(tc.key, tc.a)
		if !errors.Is(errors.Invalid, err) {
			t.Errorf("%s: err = %v, want invalid", tc.name, err)
		}
		if got := errors.IsErr(err, ErrAuth); got != tc.auth {
			t.Errorf("%s: ErrAuth = %v, want %v (%v)", tc.name, got, tc.auth, err)
		}
	}
}

func TestWrapRejects(t *testing.T) {
	for _, id := range []string{"", "has space", string(bytes.Repeat([]byte{'a'}, 65))} {
		if _, err := Wrap(key, id, opts); err == nil {
			t.Errorf("Wrap(%q) succeeded", id)
		}
	}
	if _, err := Wrap(key, "img", make([]byte, MaxOptsSize+1)); !errors.Is(errors.TooLarge, err) {
		t.Errorf("huge opts: %v", err)
	}
}

func FuzzUnwrap(f *testing.F) {
	a, _ := Wrap(key, "img-1", opts)
	f.Add(a)
	f.Add([]byte(Magic))
	f.Fuzz(func(t *testing.T, a []byte) {
		id, got, err := Unwrap(key, a)
		if err != nil {
			return
		}
		// Only what Wrap made opens: re-wrapping gives the same length.
		b, err := Wrap(key, id, got)
		if err != nil || len(b) != len(a) {
			t.Fatalf("opened an annotation Wrap cannot make: %v", err)
		}
	})
}
