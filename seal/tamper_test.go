package seal

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"

	"imgward/errors"
)

// A three-chunk image and its parts, for the tamper cases.
var (
	tamperKey   = testKey(1)
	tamperPlain = plaintext(3, 2*ChunkSize+1000)
)

type tamperCase struct {
	name   string
	mutate func(sealed []byte) []byte
}

// chunkAt returns the bounds of chunk i of a sealed image with header length hl.
func chunkAt(sealed []byte, hl, i int) (int, int) {
	start := hl + i*encChunk
	return start, min(start+encChunk, len(sealed))
}

func headerLen(sealed []byte) int {
	rh, err := readHeader("test", bytes.NewReader(sealed))
	if err != nil {
		panic(err)
	}
	return len(rh.body) + macSize
}

// fieldAt names the field of testHeader's encoding that holds byte off.
func fieldAt(off int) string {
	for _, f := range []struct {
		name string
		n    int
	}{
		{"magic", len(Magic)}, {"version", 1}, {"chunk size", 4}, {"salt", saltSize},
		{"image id length", 1}, {"image id", len(testHeader.ImageID)},
		{"owner length", 1}, {"owner", len(testHeader.Owner)},
		{"key id length", 1}, {"key id", len(testHeader.KeyID)},
		{"key version", 4}, {"mac", macSize},
	} {
		if off < f.n {
			return f.name
		}
		off -= f.n
	}
	return "?"
}

func tamperCases(t *testing.T) []tamperCase {
	other := sealBytes(t, tamperKey, testHeader, testSalt(50), plaintext(4, len(tamperPlain)))
	hl := headerLen(other)
	var cases []tamperCase
	for off := range hl {
		for _, bit := range []byte{0x01, 0x80} {
			cases = append(cases, tamperCase{fmt.Sprintf("header/%s/byte%d^%#x", fieldAt(off), off, bit),
				func(s []byte) []byte { s[off] ^= bit; return s }})
		}
	}
	chunk := func(s []byte, i int) []byte { a, b := chunkAt(s, hl, i); return s[a:b] }
	cases = append(cases, []tamperCase{
		{"chunk0/first byte", func(s []byte) []byte { s[hl] ^= 1; return s }},
		{"chunk1/middle", func(s []byte) []byte { chunk(s, 1)[ChunkSize/2] ^= 0x40; return s }},
		{"chunk2/tag", func(s []byte) []byte { s[len(s)-1] ^= 0x80; return s }},
		{"truncate/after chunk0", func(s []byte) []byte { return s[:hl+encChunk] }},
		{"truncate/drop last chunk", func(s []byte) []byte { return s[:hl+2*encChunk] }},
		{"truncate/mid chunk1", func(s []byte) []byte { return s[:hl+encChunk+1000] }},
		{"truncate/one byte", func(s []byte) []byte { return s[:len(s)-1] }},
		{"truncate/last tag", func(s []byte) []byte { return s[:len(s)-Overhead] }},
		{"truncate/to tag fragment", func(s []byte) []byte { return s[:hl+2*encChunk+5] }},
		{"truncate/header only", func(s []byte) []byte { return s[:hl] }},
		{"truncate/mid header", func(s []byte) []byte { return s[:hl/2] }},
		{"truncate/empty", func(s []byte) []byte { return s[:0] }},
		{"extend/one byte", func(s []byte) []byte { return append(s, 0) }},
		{"extend/empty tag", func(s []byte) []byte { return append(s, make([]byte, Overhead)...) }},
		{"extend/copy of chunk1", func(s []byte) []byte { return append(s, chunk(s, 1)...) }},
		{"extend/last chunk of other", func(s []byte) []byte { return append(s, chunk(other, 2)...) }},
		{"reorder/swap chunk0 chunk1", func(s []byte) []byte {
			c0 := bytes.Clone(chunk(s, 0))
			copy(chunk(s, 0), chunk(s, 1))
			copy(chunk(s, 1), c0)
			return s
		}},
		{"duplicate/chunk0 over chunk1", func(s []byte) []byte { copy(chunk(s, 1), chunk(s, 0)); return s }},
		{"splice/chunk1 of other file", func(s []byte) []byte { copy(chunk(s, 1), chunk(other, 1)); return s }},
		{"splice/header of other file", func(s []byte) []byte { copy(s, other[:hl]); return s }},
		{"splice/payload of other file", func(s []byte) []byte { return append(s[:hl], other[hl:]...) }},
	}...)
	return cases
}

// TestTamper checks that every edit is detected by every way of opening, and
// that no way returns bytes that are not an authentic prefix of the image.
func TestTamper(t *testing.T) {
	sealed := sealBytes(t, tamperKey, testHeader, testSalt(40), tamperPlain)
	for _, tc := range tamperCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.mutate(bytes.Clone(sealed))
			got, err := openAll(s, tamperKey)
			checkRejected(t, "NewReader", err, got)

			var out bytes.Buffer
			_, _, err = Unseal(context.Background(), &out, bytes.NewReader(s), tamperKey, 2)
			checkRejected(t, "Unseal", err, out.Bytes())

			ra, err := OpenReaderAt(bytes.NewReader(s), int64(len(s)), tamperKey)
			if err == nil {
				buf := make([]byte, ra.Size())
				n, err := ra.ReadAt(buf, 0)
				checkRejected(t, "ReadAt", err, buf[:n])
			} else {
				checkRejected(t, "OpenReaderAt", err, nil)
			}
		})
	}
}

func checkRejected(t *testing.T, how string, err error, got []byte) {
	t.Helper()
	switch {
	case err == nil:
		t.Errorf("%s: tampered image opened", how)
	case err == io.EOF:
		t.Errorf("%s: io.EOF, want an error", how)
	case !errors.Is(errors.Invalid, err):
		t.Errorf("%s: %v, want kind Invalid", how, err)
	case !errors.IsErr(err, ErrAuth) && !errors.IsErr(err, ErrFormat):
		t.Errorf("%s: %v, want ErrAuth or ErrFormat", how, err)
	}
	if !bytes.HasPrefix(tamperPlain, got) || len(got)%ChunkSize != 0 {
		t.Errorf("%s: returned %d bytes that are not whole authentic chunks", how, len(got))
	}
}

func TestWrongKey(t *testing.T) {
	sealed := sealBytes(t, tamperKey, testHeader, testSalt(40), tamperPlain)
	_, err := openAll(sealed, testKey(2))
	if !errors.IsErr(err, ErrAuth) || !errors.Is(errors.Invalid, err) {
		t.Fatalf("wrong key: %v, want ErrAuth of kind Invalid", err)
	}
	if _, err := OpenReaderAt(bytes.NewReader(sealed), int64(len(sealed)), testKey(2)); !errors.IsErr(err, ErrAuth) {
		t.Fatalf("OpenReaderAt with wrong key: %v, want ErrAuth", err)
	}
}
