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
