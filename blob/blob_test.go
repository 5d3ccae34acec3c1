package blob

import (
	"os"
	"path/filepath"
	"testing"

	"imgward"
	"imgward/blob/blobtest"
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
			tmps, _ := filepath.Glob(filepath.Join(s.(*FS).dir, "tmp", "*"))
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

func TestOpenCleansTemporaries(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(dir); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, "tmp", "x.123")
	if err := os.WriteFile(stale, []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatalf("stale temporary survived: %v", err)
	}
}
