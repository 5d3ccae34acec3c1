package sqlite

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"imgward"
)

// TestCheckpointer checks that the WAL is checkpointed without the
// writer's automatic checkpoints: after many commits, it stays at the size
// of the commits between two checkpoints, and the data is all there.
func TestCheckpointer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "imgward.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const n = 8 * checkpointEvery
	now := time.Now()
	for i := range n {
		err := s.Update(t.Context(), func(tx imgward.Tx) error {
			return tx.UseNonce(t.Context(), fmt.Sprintf("nonce-%06d-AAAAAAAAAAAA", i), now.Add(time.Hour), now)
		})
		if err != nil {
			t.Fatal(err)
		}
		// Let the checkpointer run when asked, so that the test checks the
		// mechanism and not how the scheduler treats it on a loaded machine.
		if want := int64((i + 1) / checkpointEvery); (i+1)%checkpointEvery == 0 {
			for deadline := time.Now().Add(10 * time.Second); s.ckptRuns.Load() < want; {
				if time.Now().After(deadline) {
					t.Fatalf("checkpoint %d never ran", want)
				}
				time.Sleep(time.Millisecond)
			}
		}
	}
	// Each commit adds about three pages of 4 KiB to the WAL: 24 MiB for
	// these without checkpoints, under 5 MiB with them. (The writer's own
	// finishing checkpoint matters when it never idles; with the waits
	// above it does, so this test does not cover that step.)
	fi, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	if max := int64(n) * 4096; fi.Size() > max {
		t.Errorf("WAL of %d bytes after %d commits, want at most %d: not checkpointed", fi.Size(), n, max)
	}
	var count int
	if err := s.read.QueryRow("SELECT count(*) FROM identity_nonces").Scan(&count); err != nil || count != n {
		t.Errorf("%d nonces (%v), want %d", count, err, n)
	}
}

// TestWALBounded checks that the WAL stays bounded under a write load that
// never lets the writer idle, where only the writer's finishing checkpoint
// restarts it: without that step it would reach hundreds of MiB here.
func TestWALBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "imgward.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const writers, each = 16, 2500
	now := time.Now()
	var maxWAL int64
	errs := make(chan error, writers)
	for w := range writers {
		go func() {
			for i := range each {
				err := s.Update(t.Context(), func(tx imgward.Tx) error {
					return tx.UseNonce(t.Context(), fmt.Sprintf("nonce-%02d-%06d-AAAAAAAAAAAA", w, i), now.Add(time.Hour), now)
				})
				if err != nil {
					errs <- err
					return
				}
				if w == 0 && i%64 == 0 {
					if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > maxWAL {
						maxWAL = fi.Size()
					}
				}
			}
			errs <- nil
		}()
	}
	for range writers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	maxWAL = max(maxWAL, fi.Size())
	// restartFrames, then what is appended until the finishing checkpoint
	// runs: the commits between two background checkpoints and those
	// during the second one, which take longer the more the machine's other
	// work delays the checkpointer (21-23 MB alone, 36 MB beside the other
	// packages' tests). So the bound is four times restartFrames (a frame is
	// a page and a 24-byte header), 66 MB: still a quarter of the 281 MB the
	// WAL reached here without the finishing step.
	bound := int64(4*restartFrames) * (4096 + 24)
	if maxWAL > bound {
		t.Errorf("WAL grew to %d bytes after %d writes, want at most %d", maxWAL, writers*each, bound)
	}
	if s.ckptRuns.Load() == 0 {
		t.Error("no checkpoint ran")
	}
	var count int
	if err := s.read.QueryRow("SELECT count(*) FROM identity_nonces").Scan(&count); err != nil || count != writers*each {
		t.Errorf("%d nonces (%v), want %d", count, err, writers*each)
	}
	t.Logf("%d writes, %d checkpoints, WAL at most %d bytes", writers*each, s.ckptRuns.Load(), maxWAL)
}
