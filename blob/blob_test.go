package blob

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"imgward"
	"imgward/blob/blobtest"
	"imgward/errors"
)

func TestConformance(t *testing.T) {
	blobtest.Run(t, blobtest.Backend{
		Open: func(t *testing.T) imgward.BlobStore {
			s, err := Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		// A failed Put must leave neither its temporary file nor anything
		// beside the data in the store's directory.
		Leftovers: func(t *testing.T, s imgward.BlobStore) []string {
			var left []string
			tmps, _ := filepath.Glob(filepath.Join(s.(*FS).tmp, "*"))
			left = append(left, tmps...)
			top, _ := os.ReadDir(s.(*FS).dir)
			for _, e := range top {
				if e.Name() != "tmp" {
					left = append(left, e.Name())
				}
			}
			return left
		},
		Large: 3 << 20,
	})
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
