package local

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"imgward"
	"imgward/errors"
	"imgward/kms/kmstest"
)

func openTemp(t *testing.T) (*KeyService, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "master.keys")
	ks, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ks.Close() })
	return ks, path
}

func TestConformance(t *testing.T) {
	kmstest.Run(t, func(t *testing.T) imgward.KeyService {
		ks, _ := openTemp(t)
		return ks
	})
}

func TestNewFileMode(t *testing.T) {
	_, path := openTemp(t)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("new key file has mode %#o, want 0600", perm)
	}
}

func TestRefusesOpenFile(t *testing.T) {
	for _, mode := range []os.FileMode{0o640, 0o604, 0o660, 0o610, 0o601} {
		_, path := openTemp(t)
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := Open(path)
		if !errors.Is(errors.Permission, err) {
			t.Errorf("Open of a key file with mode %#o: %v, want kind Permission", mode, err)
		}
	}
}

func TestRefusesNonRegular(t *testing.T) {
	if _, err := Open(t.TempDir()); !errors.Is(errors.Invalid, err) && !errors.Is(errors.Permission, err) {
		t.Errorf("Open of a directory: %v, want an error of kind Invalid", err)
	}
}

func TestRefusesBadFile(t *testing.T) {
	for name, data := range map[string]string{
		"empty":          "",
		"not json":       "{",
		"format":         `{"format":"other","keys":{}}`,
		"bad id":         `{"format":"imgward-kms-local-v1","keys":{"a/b":{"current":1,"versions":{"1":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}}}}`,
		"short key":      `{"format":"imgward-kms-local-v1","keys":{"k":{"current":1,"versions":{"1":"AAAA"}}}}`,
		"no current":     `{"format":"imgward-kms-local-v1","keys":{"k":{"current":2,"versions":{"1":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}}}}`,
		"version 0":      `{"format":"imgward-kms-local-v1","keys":{"k":{"current":0,"versions":{"0":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}}}}`,
		"version number": `{"format":"imgward-kms-local-v1","keys":{"k":{"current":1,"versions":{"x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}}}}`,
	} {
		path := filepath.Join(t.TempDir(), "keys")
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(path); !errors.Is(errors.Invalid, err) {
			t.Errorf("%s: Open = %v, want kind Invalid", name, err)
		}
	}
}

// TestPersists reopens the key file after every kind of change.
func TestPersists(t *testing.T) {
	ctx := context.Background()
	ks, path := openTemp(t)
	id := kmstest.NewKeyID()
	if err := ks.CreateKey(ctx, id); err != nil {
		t.Fatal(err)
	}
	dk1, w1, err := ks.GenerateDataKey(ctx, id, []byte("img"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ks.Rotate(ctx, id); err != nil {
		t.Fatal(err)
	}
	dk2, w2, err := ks.GenerateDataKey(ctx, id, []byte("img"))
	if err != nil {
		t.Fatal(err)
	}

	re, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		w  imgward.WrappedKey
		dk []byte
	}{{w1, dk1}, {w2, dk2}} {
		got, err := re.Unwrap(ctx, c.w, []byte("img"))
		if err != nil || !bytes.Equal(got, c.dk) {
			t.Errorf("after reopen, Unwrap(v%d) = %x, %v; want %x", c.w.Version, got, err, c.dk)
		}
	}
	if err := re.Retire(ctx, id, 1); err != nil {
		t.Fatal(err)
	}
	re, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := re.Unwrap(ctx, w1, []byte("img")); !errors.Is(errors.NotExist, err) {
		t.Errorf("after reopen, Unwrap under a retired version: %v, want kind NotExist", err)
	}
	if v, err := re.Rotate(ctx, id); err != nil || v != 3 {
		t.Errorf("after reopen, Rotate = %d, %v; want 3", v, err)
	}
}

// TestAtomicRewrite checks that a change replaces the file, mode 0600,
// and leaves no temporary file behind.
func TestAtomicRewrite(t *testing.T) {
	ctx := context.Background()
	ks, path := openTemp(t)
	old, err := os.Open(path) // held open, so that its inode is not reused
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	before, err := old.Stat()
	if err != nil {
		t.Fatal(err)
	}
	id := kmstest.NewKeyID()
	if err := ks.CreateKey(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := ks.Rotate(ctx, id); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if os.SameFile(before, after) {
		t.Error("key file rewritten in place, want a rename over it")
	}
	if perm := after.Mode().Perm(); perm != 0o600 {
		t.Errorf("rewritten key file has mode %#o, want 0600", perm)
	}
	ents, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 {
		t.Errorf("directory holds %d files after rewrites, want 1", len(ents))
	}
}

// TestFailedSaveKeepsState checks that a change that cannot be saved is not
// applied.
func TestFailedSaveKeepsState(t *testing.T) {
	ctx := context.Background()
	ks, path := openTemp(t)
	if err := os.RemoveAll(filepath.Dir(path)); err != nil { // saving fails now
		t.Fatal(err)
	}
	id := kmstest.NewKeyID()
	if err := ks.CreateKey(ctx, id); !errors.Is(errors.Unavailable, err) {
		t.Fatalf("CreateKey with an unwritable file: %v, want kind Unavailable", err)
	}
	if _, _, err := ks.GenerateDataKey(ctx, id, nil); !errors.Is(errors.NotExist, err) {
		t.Errorf("key created although it was not saved: %v", err)
	}
}
