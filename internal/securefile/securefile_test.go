package securefile

import (
	"os"
	"path/filepath"
	"testing"

	"imgward/errors"
)

func TestCreateReplaceRead(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "keys")
	if err := Create(p, []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := Create(p, []byte("two")); !errors.Is(errors.Exist, err) {
		t.Fatalf("second Create: %v, want Exist", err)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode().Perm())
	}
	if err := Replace(p, []byte("three")); err != nil {
		t.Fatal(err)
	}
	if b, err := Read(p, 100); err != nil || string(b) != "three" {
		t.Fatalf("Read = %q, %v", b, err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*tmp")); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
	tests := []struct {
		name  string
		setup func() string
		max   int64
		kind  errors.Kind
	}{
		{"missing", func() string { return filepath.Join(dir, "nope") }, 100, errors.NotExist},
		{"too large", func() string { return p }, 4, errors.TooLarge},
		{"group readable", func() string {
			q := filepath.Join(dir, "open")
			os.WriteFile(q, []byte("x"), 0o640)
			return q
		}, 100, errors.Permission},
		{"directory", func() string {
			q := filepath.Join(dir, "d")
			os.Mkdir(q, 0o700)
			return q
		}, 100, errors.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Read(tt.setup(), tt.max); !errors.Is(tt.kind, err) {
				t.Fatalf("Read: %v, want %v", err, tt.kind)
			}
		})
	}
}
