package local

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"imgward"
	"imgward/errors"
	"imgward/kms/kmstest"
	"imgward/store/postgres"
	"imgward/store/sqlite"
	"imgward/store/storetest"
)

func newKEK() []byte {
	k := make([]byte, 32)
	rand.Read(k)
	return k
}

func openShared(t *testing.T, st imgward.Store, kek []byte) *Shared {
	t.Helper()
	ks, err := OpenShared(st, kek, 0)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

func sqliteStore(t *testing.T) imgward.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestSharedConformance(t *testing.T) {
	kmstest.Run(t, func(t *testing.T) imgward.KeyService {
		return openShared(t, sqliteStore(t), newKEK())
	})
}

// TestSharedAcrossNodes runs two services over one PostgreSQL database, as
// two nodes: a version made on one unwraps on the other, a retired one is
// gone from both, and a node with another KEK opens nothing.
func TestSharedAcrossNodes(t *testing.T) {
	ctx := context.Background()
	dsn := storetest.PostgresDSN(t)
	var nodes []*Shared
	kek := newKEK()
	for range 2 {
		st, err := postgres.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		nodes = append(nodes, openShared(t, st, kek))
	}
	a, b := nodes[0], nodes[1]
	id := kmstest.NewKeyID()
	if err := a.CreateKey(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := b.CreateKey(ctx, id); !errors.Is(errors.Exist, err) {
		t.Fatalf("CreateKey on the second node: %v, want Exist", err)
	}
	dk1, w1, err := a.GenerateDataKey(ctx, id, []byte("img-1"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b.Unwrap(ctx, w1, []byte("img-1")); err != nil || !bytes.Equal(got, dk1) {
		t.Fatalf("Unwrap on node b of a key wrapped on a: %v", err)
	}
	v, err := b.Rotate(ctx, id)
	if err != nil || v != 2 {
		t.Fatalf("Rotate on b = %d, %v; want 2", v, err)
	}
	// a knows v1 only, and learns v2 at once: it wraps under v2 and opens
	// b's v2 wraps.
	dk2, w2, err := a.GenerateDataKey(ctx, id, []byte("img-2"))
	if err != nil || w2.Version != 2 {
		t.Fatalf("GenerateDataKey on a after b rotated: v%d, %v; want v2", w2.Version, err)
	}
	rw, err := b.Rewrap(ctx, w1, []byte("img-1"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := a.Unwrap(ctx, rw, []byte("img-1")); err != nil || !bytes.Equal(got, dk1) {
		t.Fatalf("Unwrap on a of a key rewrapped on b: %v", err)
	}
	if err := a.Retire(ctx, id, 2); !errors.Is(errors.Conflict, err) {
		t.Errorf("Retire of the current version: %v, want Conflict", err)
	}
	if err := a.Retire(ctx, id, 1); err != nil {
		t.Fatal(err)
	}
	if err := b.Retire(ctx, id, 1); !errors.Is(errors.NotExist, err) {
		t.Errorf("Retire on b of a version a retired: %v, want NotExist", err)
	}
	b.forget(id) // as the refresh period would
	if _, err := b.Unwrap(ctx, w1, []byte("img-1")); !errors.Is(errors.NotExist, err) {
		t.Errorf("Unwrap on b under a version retired on a: %v, want NotExist", err)
	}
	if got, err := b.Unwrap(ctx, w2, []byte("img-2")); err != nil || !bytes.Equal(got, dk2) {
		t.Errorf("Unwrap on b of v2: %v", err)
	}
	other := openShared(t, a.st, newKEK())
	if _, err := other.Unwrap(ctx, w2, []byte("img-2")); err == nil {
		t.Error("a node with another KEK unwrapped a key")
	}
}

// TestImport moves a single node's key file into the shared ring once, and
// refuses a second node's file whose versions differ.
func TestImport(t *testing.T) {
	ctx := context.Background()
	file, path := openTemp(t)
	id := kmstest.NewKeyID()
	if err := file.CreateKey(ctx, id); err != nil {
		t.Fatal(err)
	}
	dk, w, err := file.GenerateDataKey(ctx, id, []byte("img"))
	if err != nil {
		t.Fatal(err)
	}
	ks := openShared(t, sqliteStore(t), newKEK())
	n, err := ks.ImportFile(ctx, path)
	if err != nil || n != 1 {
		t.Fatalf("ImportFile = %d, %v; want 1 version", n, err)
	}
	if _, err := os.Stat(path + ".imported"); err != nil {
		t.Errorf("the imported file was not renamed: %v", err)
	}
	if got, err := ks.Unwrap(ctx, w, []byte("img")); err != nil || !bytes.Equal(got, dk) {
		t.Fatalf("Unwrap after import: %v", err)
	}
	if n, err := ks.ImportFile(ctx, path); err != nil || n != 0 {
		t.Errorf("ImportFile of a moved file = %d, %v; want 0, nil", n, err)
	}
	_, path2 := openTemp(t)
	other, err := Open(path2)
	if err != nil {
		t.Fatal(err)
	}
	if err := other.CreateKey(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := ks.Import(ctx, path2); !errors.Is(errors.Conflict, err) {
		t.Errorf("Import of another node's own version 1: %v, want Conflict", err)
	}
	if got, err := ks.Unwrap(ctx, w, []byte("img")); err != nil || !bytes.Equal(got, dk) {
		t.Errorf("Unwrap after a refused import: %v", err)
	}
}

func TestReadKEK(t *testing.T) {
	dir := t.TempDir()
	for name, c := range map[string]struct {
		data string
		mode os.FileMode
		ok   bool
	}{
		"base64":     {"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n", 0o600, true},
		"raw":        {"0123456789abcdef0123456789abcdef", 0o600, true},
		"short":      {"MDEy\n", 0o600, false},
		"not base64": {"!!!!", 0o600, false},
		"readable":   {"0123456789abcdef0123456789abcdef", 0o644, false},
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(c.data), c.mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, c.mode)
		k, err := ReadKEK(p)
		if c.ok && (err != nil || string(k) != "0123456789abcdef0123456789abcdef") {
			t.Errorf("%s: ReadKEK = %q, %v", name, k, err)
		} else if !c.ok && err == nil {
			t.Errorf("%s: ReadKEK accepted it", name)
		}
	}
}
