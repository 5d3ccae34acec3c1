package catalog_test

import (
	"context"
	"io"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"imgward"
	"imgward/blob"
	"imgward/catalog"
	"imgward/store/postgres"
	"imgward/store/sqlite"
	"imgward/store/storetest"
)

// clock is a settable clock shared by the nodes of a test.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// TestUploadLease checks, on both stores, that an upload whose node stops
// renewing its lease is queued again by another node once the lease has
// expired, and not before; and that the cut upload then cannot complete.
func TestUploadLease(t *testing.T) {
	stores := map[string]func(t *testing.T) imgward.Store{
		"sqlite": func(t *testing.T) imgward.Store {
			st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "db"))
			if err != nil {
				t.Fatal(err)
			}
			return st
		},
		"postgres": func(t *testing.T) imgward.Store {
			st, err := postgres.Open(context.Background(), storetest.PostgresDSN(t))
			if err != nil {
				t.Fatal(err)
			}
			return st
		},
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := open(t)
			defer st.Close()
			blobs, err := blob.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			clk := &clock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
			// Node a renews once an hour: within the test it is as good as dead.
			a := catalog.New(st, blobs, catalog.WithClock(clk.Now), catalog.WithNode("a", 3*time.Hour))
			b := catalog.New(st, blobs, catalog.WithClock(clk.Now), catalog.WithNode("b", time.Minute))
			token, err := a.Bootstrap(ctx)
			if err != nil {
				t.Fatal(err)
			}
			admin, err := a.Authenticate(ctx, token)
			if err != nil {
				t.Fatal(err)
			}
			img, err := a.CreateImage(ctx, admin, map[string]any{"name": "x", "disk_format": "raw", "container_format": "bare"})
			if err != nil {
				t.Fatal(err)
			}
			pr, pw := io.Pipe()
			done := make(chan error, 1)
			go func() { _, err := a.Upload(ctx, admin, img.ID, pr); done <- err }()
			pw.Write([]byte("part of the data"))
			status := func() imgward.ImageStatus {
				got, err := b.Image(ctx, admin, img.ID)
				if err != nil {
					t.Fatal(err)
				}
				return got.Status
			}
			for end := time.Now().Add(10 * time.Second); status() != imgward.StatusSaving; time.Sleep(10 * time.Millisecond) {
				if time.Now().After(end) {
					t.Fatal("the upload never began")
				}
			}
			clk.advance(3*time.Hour - time.Second)
			if n, err := b.RecoverUploads(ctx); err != nil || n != 0 {
				t.Fatalf("RecoverUploads while the lease lives = %d, %v; want 0", n, err)
			}
			clk.advance(2 * time.Second)
			if n, err := b.RecoverUploads(ctx); err != nil || n != 1 {
				t.Fatalf("RecoverUploads once the lease expired = %d, %v; want 1", n, err)
			}
			if s := status(); s != imgward.StatusQueued {
				t.Fatalf("image %s after recovery, want queued", s)
			}
			pw.Write([]byte(" and the rest"))
			pw.Close()
			if err := <-done; err == nil {
				t.Error("an upload whose lease expired completed")
			}
			if s := status(); s != imgward.StatusQueued {
				t.Errorf("image %s after the cut upload ended, want queued", s)
			}
		})
	}
}
