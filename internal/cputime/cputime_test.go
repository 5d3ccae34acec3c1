package cputime

import (
	"crypto/sha256"
	"runtime"
	"testing"
	"time"
)

// TestThreadAndProcess checks that busy work on a locked thread shows in
// both readings, and that the process has used at least what the thread did.
func TestThreadAndProcess(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t0, err := Thread()
	if err != nil {
		t.Fatal(err)
	}
	p0, err := Process()
	if err != nil {
		t.Fatal(err)
	}
	// Busy work until the thread has used 50 ms, however loaded the
	// machine: the thread's time must grow, and within seconds.
	sum := sha256.Sum256(nil)
	t1 := t0
	for start := time.Now(); t1-t0 < 50*time.Millisecond; t1, _ = Thread() {
		if time.Since(start) > 20*time.Second {
			t.Fatalf("thread time grew by %v in 20 s of busy work", t1-t0)
		}
		for range 10000 {
			sum = sha256.Sum256(sum[:])
		}
	}
	p1, _ := Process()
	// The kernel's accounting has a tick of at most 10 ms.
	if p1-p0 < t1-t0-10*time.Millisecond {
		t.Errorf("process time grew by %v, less than the thread's %v", p1-p0, t1-t0)
	}
}
