package blob

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha512"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"testing"

	"imgward/errors"
)

type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, io.ErrUnexpectedEOF
	}
	n := min(len(p), f.n)
	f.n -= n
	return n, nil
}

func TestPut(t *testing.T) {
	ctx := context.Background()
	data := bytes.Repeat([]byte("imgward"), 100_000)
	md, sh := md5.Sum(data), sha512.Sum512(data)
	tests := []struct {
		name    string
		key     string
		r       io.Reader
		max     int64
		kind    errors.Kind
		wantErr bool
	}{
		{name: "ok", key: "a-1", r: bytes.NewReader(data), max: int64(len(data))},
		{name: "empty", key: "a-2", r: bytes.NewReader(nil), max: 10},
		{name: "over limit", key: "a-3", r: bytes.NewReader(data), max: int64(len(data)) - 1, wantErr: true, kind: errors.TooLarge},
		{name: "broken off", key: "a-4", r: &failingReader{n: 1000}, max: 1 << 20, wantErr: true, kind: errors.Invalid},
		{name: "traversal", key: "../x", r: bytes.NewReader(data), max: 1 << 30, wantErr: true, kind: errors.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			info, err := s.Put(ctx, tt.key, tt.r, tt.max)
			if tt.wantErr {
				if !errors.Is(tt.kind, err) {
					t.Fatalf("err = %v, want kind %v", err, tt.kind)
				}
				left, _ := filepath.Glob(filepath.Join(dir, "tmp", "*", "*"))
				top, _ := os.ReadDir(dir)
				if len(left) != 0 || len(top) != 1 {
					t.Fatalf("failed put left files: %v %v", left, top)
				}
				if _, _, err := s.Open(ctx, "a-3"); !errors.Is(errors.NotExist, err) && !errors.Is(errors.Invalid, err) {
					t.Fatalf("open after failed put: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := data
			if tt.name == "empty" {
				want = nil
			} else if info.MD5 != hex.EncodeToString(md[:]) || info.SHA512 != hex.EncodeToString(sh[:]) {
				t.Fatalf("hashes %+v", info)
			}
			rc, size, err := s.Open(ctx, tt.key)
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			got, _ := io.ReadAll(rc)
			if size != int64(len(want)) || info.Size != size || !bytes.Equal(got, want) {
				t.Fatalf("read back %d bytes (size %d, info %d), want %d", len(got), size, info.Size, len(want))
			}
			if err := s.Delete(ctx, tt.key); err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.Open(ctx, tt.key); !errors.Is(errors.NotExist, err) {
				t.Fatalf("open after delete: %v", err)
			}
			if err := s.Delete(ctx, tt.key); err != nil {
				t.Fatalf("second delete: %v", err)
			}
		})
	}
}

// TestOpenCleansOwnTemporaries checks that a starting node removes the
// temporary files a crash of its own left, and never another node's, whose
// upload may be in progress on the shared directory.
func TestOpenCleansOwnTemporaries(t *testing.T) {
	dir := t.TempDir()
	a, err := OpenNode(dir, "node-a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenNode(dir, "node-b"); err != nil {
		t.Fatal(err)
	}
	own := filepath.Join(dir, "tmp", "node-b", "x.123")
	if err := os.WriteFile(own, []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	// node a's upload in progress: a body that blocks until the end.
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := a.Put(context.Background(), "img-a", pr, 1<<20)
		done <- err
	}()
	pw.Write([]byte("first half "))
	if _, err := OpenNode(dir, "node-b"); err != nil { // node b restarts
		t.Fatal(err)
	}
	if _, err := os.Stat(own); !os.IsNotExist(err) {
		t.Errorf("node b's stale temporary survived its restart: %v", err)
	}
	pw.Write([]byte("second half"))
	pw.Close()
	if err := <-done; err != nil {
		t.Fatalf("node a's upload failed when node b restarted: %v", err)
	}
	rc, _, err := a.Open(context.Background(), "img-a")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if got, _ := io.ReadAll(rc); string(got) != "first half second half" {
		t.Errorf("node a stored %q", got)
	}
	if _, err := OpenNode(dir, "../x"); !errors.Is(errors.Invalid, err) {
		t.Errorf("OpenNode with a node name that leaves tmp: %v, want Invalid", err)
	}
}
