package seal

import (
	"bytes"
	"context"
	"io"
	"testing"

	"imgward/errors"
)

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func FuzzParseHeader(f *testing.F) {
	sealed := sealBytes(f, testKey(1), testHeader, testSalt(2), nil)
	f.Add(sealed)
	f.Add(sealed[:headerLen(sealed)-1])
	f.Add([]byte(Magic))
	f.Fuzz(func(t *testing.T, data []byte) {
		cr := &countingReader{r: bytes.NewReader(data)}
		rh, err := readHeader("fuzz", cr)
		if cr.n > MaxHeaderSize {
			t.Fatalf("read %d bytes, more than MaxHeaderSize", cr.n)
		}
		if err != nil {
			if !errors.Is(errors.Invalid, err) || !errors.IsErr(err, ErrFormat) {
				t.Fatalf("error %v is not ErrFormat of kind Invalid", err)
			}
			return
		}
		if err := rh.Header.check(); err != nil {
			t.Fatalf("parsed a header that breaks the limits: %v", err)
		}
		// The encoding is canonical: the fields encode back to what was read.
		enc := append(rh.Header.encode(rh.salt), rh.mac...)
		if !bytes.Equal(enc, data[:cr.n]) {
			t.Fatalf("header re-encodes to %x, read %x", enc, data[:cr.n])
		}
	})
}

// FuzzOpen feeds every way of opening mutated sealed images under the key
// they were sealed with. Only an unmodified image may open, and no way may
// return a byte that is not an authentic prefix of a seed's plaintext.
func FuzzOpen(f *testing.F) {
	key := testKey(1)
	type seed struct{ sealed, plain []byte }
	var seeds []seed
	for i, n := range []int{0, 5, ChunkSize, ChunkSize + 3} {
		plain := plaintext(uint64(i), n)
		s := sealBytes(f, key, testHeader, testSalt(byte(i)), plain)
		seeds = append(seeds, seed{s, plain})
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		isSeed := func() bool {
			for _, s := range seeds {
				if bytes.Equal(s.sealed, data) {
					return true
				}
			}
			return false
		}
		authentic := func(got []byte) bool {
			for _, s := range seeds {
				if bytes.HasPrefix(s.plain, got) {
					return true
				}
			}
			return false
		}
		got, err := openAll(data, key)
		if err == nil && !isSeed() || !authentic(got) {
			t.Fatalf("NewReader opened a tampered image, or returned %d bad bytes (err %v)", len(got), err)
		}
		for _, src := range writeToSources[:3] {
			got, err := writeToAll(data, key, src.src, 0)
			if err == nil && !isSeed() || !authentic(got) {
				t.Fatalf("WriteTo from %s opened a tampered image, or returned %d bad bytes (err %v)", src.name, len(got), err)
			}
		}
		var out bytes.Buffer
		_, _, err = Unseal(context.Background(), &out, bytes.NewReader(data), key, 2)
		if err == nil && !isSeed() || !authentic(out.Bytes()) {
			t.Fatalf("Unseal opened a tampered image, or returned bad bytes (err %v)", err)
		}
		ra, err := OpenReaderAt(bytes.NewReader(data), int64(len(data)), key)
		if err != nil {
			return
		}
		p := make([]byte, ra.Size())
		n, err := ra.ReadAt(p, 0)
		if err == nil && !isSeed() || !authentic(p[:n]) {
			t.Fatalf("ReaderAt opened a tampered image, or returned bad bytes (err %v)", err)
		}
	})
}
