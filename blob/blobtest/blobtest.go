// Package blobtest is the conformance suite of imgward.BlobStore: the tests
// are written once against the interface and every backend (the file
// backend in blob, the object-storage backend in blob/s3) runs them, so that
// the catalog and the broker can rely on the same contract from each.
package blobtest

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha512"
	"encoding/hex"
	"io"
	"strings"
	"testing"

	"imgward"
	"imgward/errors"
)

// Backend is what the suite needs of a backend under test.
type Backend struct {
	// Open returns an empty store of its own for one test.
	Open func(t *testing.T) imgward.BlobStore
	// Leftovers lists what a store holds besides its complete data: the
	// temporary files of the file backend, the unfinished multipart
	// uploads of object storage. After a failed Put it must be empty.
	Leftovers func(t *testing.T, s imgward.BlobStore) []string
	// Large is the size of the upload that must take the backend's
	// streaming path (several parts for object storage).
	Large int
}

// Run runs the suite against b.
func Run(t *testing.T, b Backend) {
	tests := []struct {
		name string
		fn   func(t *testing.T, b Backend)
	}{
		{"PutOpen", testPutOpen},
		{"Refused", testRefused},
		{"Replace", testReplace},
		{"Seek", testSeek},
		{"Delete", testDelete},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, b) })
	}
}

// pattern returns n bytes that differ from part to part, so that parts
// stored out of order or twice cannot pass for the data.
func pattern(n int, seed byte) []byte {
	p := make([]byte, n)
	x := uint32(seed) + 1
	for i := range p {
		x = x*1664525 + 1013904223
		p[i] = byte(x >> 24)
	}
	return p
}

func testPutOpen(t *testing.T, b Backend) {
	tests := []struct {
		name string
		data []byte
		max  int64
	}{
		{"empty", nil, 10},
		{"small", []byte("imgward"), 7},
		{"large", pattern(b.Large, 1), int64(b.Large)},
		{"large under limit", pattern(b.Large+1, 2), 1 << 40},
	}
	ctx := context.Background()
	s := b.Open(t)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := "img-" + string(rune('a'+i))
			info, err := s.Put(ctx, key, bytes.NewReader(tt.data), tt.max)
			if err != nil {
				t.Fatal(err)
			}
			md, sh := md5.Sum(tt.data), sha512.Sum512(tt.data)
			want := imgward.BlobInfo{Size: int64(len(tt.data)), MD5: hex.EncodeToString(md[:]), SHA512: hex.EncodeToString(sh[:])}
			if info != want {
				t.Fatalf("info = %+v, want %+v", info, want)
			}
			got, size := readAll(t, s, key)
			if size != int64(len(tt.data)) || !bytes.Equal(got, tt.data) {
				t.Fatalf("read back %d bytes (size %d), want %d", len(got), size, len(tt.data))
			}
		})
	}
}

// failingReader yields n bytes, then fails as a broken-off upload does.
type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, io.ErrUnexpectedEOF
	}
	n := min(len(p), f.n)
	clear(p[:n])
	f.n -= n
	return n, nil
}

// cancelAfter cancels its context after n bytes, as a client that goes
// away mid-upload does.
type cancelAfter struct {
	r      io.Reader
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	if c.n <= 0 {
		c.cancel()
	}
	n, err := c.r.Read(p)
	c.n -= n
	return n, err
}

// testRefused checks that every refused Put stores nothing and leaves
// nothing behind, neither under the key nor as a leftover.
func testRefused(t *testing.T, b Backend) {
	large := pattern(b.Large, 3)
	tests := []struct {
		name string
		key  string
		r    func(cancel context.CancelFunc) io.Reader
		max  int64
		kind errors.Kind
	}{
		{"over limit small", "k", func(context.CancelFunc) io.Reader { return strings.NewReader("12345678") }, 7, errors.TooLarge},
		{"over limit large", "k", func(context.CancelFunc) io.Reader { return bytes.NewReader(large) }, int64(len(large)) - 1, errors.TooLarge},
		{"broken off small", "k", func(context.CancelFunc) io.Reader { return &failingReader{n: 1000} }, 1 << 30, errors.Invalid},
		{"broken off large", "k", func(context.CancelFunc) io.Reader { return &failingReader{n: b.Large} }, 1 << 40, errors.Invalid},
		{"cancelled", "k", func(c context.CancelFunc) io.Reader {
			return &cancelAfter{r: bytes.NewReader(large), n: b.Large / 2, cancel: c}
		}, 1 << 40, errors.Invalid},
		{"traversal", "../x", func(context.CancelFunc) io.Reader { return strings.NewReader("x") }, 10, errors.Invalid},
		{"slash", "a/b", func(context.CancelFunc) io.Reader { return strings.NewReader("x") }, 10, errors.Invalid},
		{"empty key", "", func(context.CancelFunc) io.Reader { return strings.NewReader("x") }, 10, errors.Invalid},
		{"long key", strings.Repeat("k", 129), func(context.CancelFunc) io.Reader { return strings.NewReader("x") }, 10, errors.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := b.Open(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			_, err := s.Put(ctx, tt.key, tt.r(cancel), tt.max)
			if !errors.Is(tt.kind, err) {
				t.Fatalf("err = %v, want kind %v", err, tt.kind)
			}
			if _, _, err := s.Open(context.Background(), tt.key); !errors.Is(errors.NotExist, err) && !errors.Is(errors.Invalid, err) {
				t.Fatalf("open after a refused put: %v", err)
			}
			if left := b.Leftovers(t, s); len(left) != 0 {
				t.Fatalf("a refused put left %v", left)
			}
		})
	}
	for _, key := range []string{"../x", "a/b", ""} {
		s := b.Open(t)
		if _, _, err := s.Open(context.Background(), key); !errors.Is(errors.Invalid, err) {
			t.Errorf("Open(%q) = %v, want Invalid", key, err)
		}
		if err := s.Delete(context.Background(), key); !errors.Is(errors.Invalid, err) {
			t.Errorf("Delete(%q) = %v, want Invalid", key, err)
		}
	}
}

// testReplace checks that a Put over existing data replaces it, and that a
// failed one leaves the old data whole.
func testReplace(t *testing.T, b Backend) {
	ctx := context.Background()
	s := b.Open(t)
	if _, err := s.Put(ctx, "k", strings.NewReader("old"), 10); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "k", &failingReader{n: b.Large}, 1<<40); !errors.Is(errors.Invalid, err) {
		t.Fatalf("broken-off put: %v", err)
	}
	if got, _ := readAll(t, s, "k"); string(got) != "old" {
		t.Fatalf("after a failed replace: %q, want the old data", got)
	}
	if _, err := s.Put(ctx, "k", strings.NewReader("new data"), 10); err != nil {
		t.Fatal(err)
	}
	if got, size := readAll(t, s, "k"); string(got) != "new data" || size != 8 {
		t.Fatalf("after replace: %q (%d)", got, size)
	}
}

// testSeek checks the reads that an HTTP range request makes.
func testSeek(t *testing.T, b Backend) {
	ctx := context.Background()
	s := b.Open(t)
	data := pattern(b.Large, 4)
	if _, err := s.Put(ctx, "k", bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	rc, size, err := s.Open(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if end, err := rc.Seek(0, io.SeekEnd); err != nil || end != size || size != int64(len(data)) {
		t.Fatalf("seek to end = %d, %v; size %d, want %d", end, err, size, len(data))
	}
	for _, off := range []int64{size - 10, 0, size / 2, 1} {
		if _, err := rc.Seek(off, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 10)
		if _, err := io.ReadFull(rc, buf); err != nil {
			t.Fatalf("read at %d: %v", off, err)
		}
		if !bytes.Equal(buf, data[off:off+10]) {
			t.Fatalf("read at %d: wrong bytes", off)
		}
	}
}

func testDelete(t *testing.T, b Backend) {
	ctx := context.Background()
	s := b.Open(t)
	if _, _, err := s.Open(ctx, "absent"); !errors.Is(errors.NotExist, err) {
		t.Fatalf("open of absent data: %v", err)
	}
	if err := s.Delete(ctx, "absent"); err != nil {
		t.Fatalf("delete of absent data: %v", err)
	}
	for _, k := range []string{"a", "b"} {
		if _, err := s.Put(ctx, k, strings.NewReader(k), 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Delete(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Open(ctx, "a"); !errors.Is(errors.NotExist, err) {
		t.Fatalf("open after delete: %v", err)
	}
	if got, _ := readAll(t, s, "b"); string(got) != "b" {
		t.Fatalf("delete of a touched b: %q", got)
	}
	if err := s.Delete(ctx, "a"); err != nil {
		t.Fatalf("second delete: %v", err)
	}
}

func readAll(t *testing.T, s imgward.BlobStore, key string) ([]byte, int64) {
	t.Helper()
	rc, size, err := s.Open(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return got, size
}
