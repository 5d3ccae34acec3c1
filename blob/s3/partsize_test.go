package s3

import "testing"

// TestPartSize checks that parts grow every thousand parts, so that the
// 10,000 parts S3 allows carry more than the default 1 TiB image limit,
// and never exceed S3's 5 GiB part limit.
func TestPartSize(t *testing.T) {
	s := &Store{partSize0: DefaultPartSize}
	tests := []struct {
		num  int
		want int64
	}{
		{1, 16 << 20}, {1000, 16 << 20}, {1001, 32 << 20}, {2001, 64 << 20}, {9001, maxPartSize}, {maxParts, maxPartSize},
	}
	for _, tt := range tests {
		if got := s.partSize(tt.num); got != tt.want {
			t.Errorf("partSize(%d) = %d, want %d", tt.num, got, tt.want)
		}
	}
	var total int64
	for n := 1; n <= maxParts; n++ {
		total += s.partSize(n)
	}
	if total < 1<<40 {
		t.Fatalf("%d parts carry %d bytes, under 1 TiB", maxParts, total)
	}
}
