package snapshot

import (
	"strconv"
	"sync"
	"testing"
	"unsafe"
)

// TestIntern checks that a valid name is shared once seen, from any
// goroutine, that an invalid one is not kept, and that the table stops
// growing at its bound.
func TestIntern(t *testing.T) {
	if intern([]byte("Not Valid")) != "Not Valid" {
		t.Error("an invalid name changed")
	}
	if _, ok := (*names.m.Load())["Not Valid"]; ok {
		t.Error("an invalid name was interned")
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i := range maxInterned + 100 {
				intern([]byte("intern_test_" + strconv.Itoa(i)))
			}
		})
	}
	wg.Wait()
	m := *names.m.Load()
	if len(m) != maxInterned {
		t.Errorf("table holds %d names, want the bound %d", len(m), maxInterned)
	}
	a, b := intern([]byte("intern_test_7")), intern([]byte("intern_test_7"))
	if unsafe.StringData(a) != unsafe.StringData(b) {
		t.Error("a known name was copied, not shared")
	}
}
