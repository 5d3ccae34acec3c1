package catalog_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"imgward"
	"imgward/blob"
	"imgward/catalog"
	"imgward/store/sqlite"
)

// env is a catalog on a fresh SQLite store and blob directory whose clock
// is clk, with its first admin signed in.
type env struct {
	st    *sqlite.Store
	blobs *blob.FS
	clk   *clock
	cat   *catalog.Service
	admin imgward.Principal
}

// newEnv makes an env at 2030-01-01 UTC; opts go to catalog.New after the
// clock. The store is closed when t ends.
func newEnv(t *testing.T, opts ...catalog.Option) env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	blobs, err := blob.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	cat := catalog.New(st, blobs, append([]catalog.Option{catalog.WithClock(clk.Now)}, opts...)...)
	token, err := cat.Bootstrap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := cat.Authenticate(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	return env{st: st, blobs: blobs, clk: clk, cat: cat, admin: admin}
}
