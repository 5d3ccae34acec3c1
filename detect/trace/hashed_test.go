package trace

import "testing"

func TestHashedNgrams(t *testing.T) {
	h := HashedNgrams([]int32{1, 2, 3, 1, 2, 3, 1, 2}, 3, 16)
	for _, c := range h {
		if c != 0 && c != 2 && c != 4 && c != 6 {
			t.Errorf("bucket count %v: repeated trigrams must share a bucket", c)
		}
	}
	if h := HashedNgrams([]int32{5}, 3, 4); h[0]+h[1]+h[2]+h[3] != 1 {
		t.Errorf("short trace: %v", h)
	}
}
