package postgres

import (
	"testing"

	"imgward/store/storetest"
)

// BenchmarkReleaseReads compares a key release's reads as one statement
// (one round trip) and as the separate reads it replaced
// (storetest.BenchReleaseReads).
func BenchmarkReleaseReads(b *testing.B) {
	s, err := Open(b.Context(), storetest.PostgresDSN(b))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchReleaseReads(b, s)
}
