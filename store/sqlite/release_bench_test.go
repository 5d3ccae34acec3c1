package sqlite

import (
	"path/filepath"
	"testing"

	"imgward/store/storetest"
)

// BenchmarkReleaseReads compares a key release's reads as one statement
// and as the separate reads it replaced (storetest.BenchReleaseReads).
func BenchmarkReleaseReads(b *testing.B) {
	s, err := Open(b.Context(), filepath.Join(b.TempDir(), "imgward.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchReleaseReads(b, s)
}
