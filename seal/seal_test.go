package seal

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"imgward"
	"imgward/errors"
)

var testHeader = Header{
	ImageID:    "5f0c6a2e-9b1d-4c3e-8a7f-2d4b6c8e0a1b",
	Owner:      "3fa85f6457174562b3fc2c963f66afa6",
	KeyID:      "image-master",
	KeyVersion: 7,
}

// testKey returns a data key whose bytes count up from b.
func testKey(b byte) []byte {
	k := make([]byte, KeySize)
	for i := range k {
		k[i] = b + byte(i)
	}
	return k
}

func testSalt(b byte) []byte { return testKey(b) }

// plaintext returns n pseudo-random bytes, the same for the same seed.
func plaintext(seed uint64, n int) []byte {
	p := make([]byte, n)
	rand.NewChaCha8([32]byte{byte(seed)}).Read(p)
	return p
}

// sealBytes seals plain with NewWriter's code, writing it in odd pieces.
func sealBytes(t testing.TB, key []byte, h Header, salt, plain []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := newWriter(&b, key, h, salt)
	if err != nil {
		t.Fatal(err)
	}
	for p := plain; len(p) > 0; {
		n := min(len(p), 1+len(p)%99991)
		if _, err := w.Write(p[:n]); err != nil {
			t.Fatal(err)
		}
		p = p[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// openAll opens sealed with NewReader and reads it all.
func openAll(sealed, key []byte) ([]byte, error) {
	_, r, err := NewReader(bytes.NewReader(sealed), key)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

var roundTripSizes = []int{0, 1, ChunkSize - 1, ChunkSize, ChunkSize + 1, 2 * ChunkSize, 3<<20 + 7}

func TestRoundTrip(t *testing.T) {
	key := testKey(1)
	for _, size := range roundTripSizes {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			plain := plaintext(uint64(size), size)
			var sealed bytes.Buffer
			w, err := NewWriter(&sealed, key, testHeader)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(plain); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if got, want := int64(sealed.Len()), SealedSize(int64(size), testHeader); got != want {
				t.Errorf("sealed size %d, SealedSize says %d", got, want)
			}
			h, r, err := NewReader(bytes.NewReader(sealed.Bytes()), key)
			if err != nil {
				t.Fatal(err)
			}
			if *h != testHeader {
				t.Errorf("header %+v, want %+v", *h, testHeader)
			}
			var got bytes.Buffer
			if _, err := io.Copy(&got, r); err != nil { // through WriteTo
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), plain) {
				t.Error("plaintext differs after a round trip")
			}
			read, err := openAll(sealed.Bytes(), key) // through Read
			if err != nil || !bytes.Equal(read, plain) {
				t.Errorf("Read: err %v, equal %v", err, bytes.Equal(read, plain))
			}
		})
	}
}

func TestSealedOutputDiffersPerFile(t *testing.T) {
	plain := plaintext(1, 1000)
	a := sealBytes(t, testKey(1), testHeader, newSalt(), plain)
	b := sealBytes(t, testKey(1), testHeader, newSalt(), plain)
	if bytes.Equal(a, b) {
		t.Fatal("two sealings of the same data under the same key are equal: the salt is not random")
	}
}

func TestBadArguments(t *testing.T) {
	long := string(bytes.Repeat([]byte("a"), MaxKeyIDLen+1))
	for _, tc := range []struct {
		name string
		key  []byte
		h    Header
	}{
		{"short key", make([]byte, 16), testHeader},
		{"long key", make([]byte, 33), testHeader},
		{"empty image id", testKey(1), Header{Owner: "o", KeyID: "k"}},
		{"empty owner", testKey(1), Header{ImageID: "i", KeyID: "k"}},
		{"empty key id", testKey(1), Header{ImageID: "i", Owner: "o"}},
		{"long key id", testKey(1), Header{ImageID: "i", Owner: "o", KeyID: imgward.KeyID(long)}},
		{"space", testKey(1), Header{ImageID: "i d", Owner: "o", KeyID: "k"}},
		{"non-ASCII", testKey(1), Header{ImageID: "ïd", Owner: "o", KeyID: "k"}},
		{"newline", testKey(1), Header{ImageID: "id\n", Owner: "o", KeyID: "k"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			_, err := NewWriter(&b, tc.key, tc.h)
			if !errors.Is(errors.Invalid, err) {
				t.Fatalf("NewWriter: %v, want kind Invalid", err)
			}
			if b.Len() != 0 {
				t.Error("NewWriter wrote a header for bad arguments")
			}
			_, err = Seal(context.Background(), &b, bytes.NewReader(nil), tc.key, tc.h, 1)
			if !errors.Is(errors.Invalid, err) {
				t.Fatalf("Seal: %v, want kind Invalid", err)
			}
		})
	}
}

func TestKeyNotInErrors(t *testing.T) {
	key := bytes.Repeat([]byte{'K'}, 31)
	_, err := NewWriter(io.Discard, key, testHeader)
	if err == nil || bytes.Contains([]byte(err.Error()), key[:8]) {
		t.Fatalf("error %q shows the key", err)
	}
}

func TestWriterClose(t *testing.T) {
	w, err := NewWriter(io.Discard, testKey(1), testHeader)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := w.Write([]byte("x")); !errors.Is(errors.Conflict, err) {
		t.Errorf("Write after Close: %v, want kind Conflict", err)
	}
}

func TestOpenHeader(t *testing.T) {
	sealed := sealBytes(t, testKey(1), testHeader, testSalt(9), []byte("payload"))
	if h, err := OpenHeader(bytes.NewReader(sealed), testKey(1)); err != nil || *h != testHeader {
		t.Fatalf("OpenHeader: %+v, %v", h, err)
	}
	if _, err := OpenHeader(bytes.NewReader(sealed), testKey(2)); !errors.IsErr(err, ErrAuth) {
		t.Errorf("OpenHeader with the wrong key: %v, want ErrAuth", err)
	}
	edited := bytes.Clone(sealed)
	edited[headerLen(sealed)-macSize-1]++ // the key version
	if _, err := OpenHeader(bytes.NewReader(edited), testKey(1)); !errors.IsErr(err, ErrAuth) {
		t.Errorf("OpenHeader of an edited header: %v, want ErrAuth", err)
	}
	if _, err := OpenHeader(bytes.NewReader(sealed), nil); !errors.Is(errors.Invalid, err) {
		t.Errorf("OpenHeader with no key: %v, want kind Invalid", err)
	}
}

func TestParseHeaderReadsNoFurther(t *testing.T) {
	sealed := sealBytes(t, testKey(1), testHeader, testSalt(9), []byte("payload"))
	r := bytes.NewReader(sealed)
	h, err := ParseHeader(r)
	if err != nil {
		t.Fatal(err)
	}
	if *h != testHeader {
		t.Errorf("header %+v, want %+v", *h, testHeader)
	}
	if rest := int64(r.Len()); rest != int64(len("payload")+Overhead) {
		t.Errorf("ParseHeader left %d bytes, want the payload of %d", rest, len("payload")+Overhead)
	}
}
