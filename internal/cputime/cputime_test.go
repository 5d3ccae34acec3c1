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
	sum := sha256.Sum256(nil)
	for start := time.Now(); time.Since(start) < 100*time.Millisecond; {
		sum = sha256.Sum256(sum[:])
	}
	t1, _ := Thread()
	p1, _ := Process()
	// The tick of the kernel's accounting is at most 10 ms.
	if t1-t0 < 10*time.Millisecond {
		t.Errorf("thread time grew by %v over 100 ms of busy work", t1-t0)
	}
	if p1-p0 < t1-t0-10*time.Millisecond || p1 < t1 {
		t.Errorf("process time %v (+%v) below the thread's %v (+%v)", p1, p1-p0, t1, t1-t0)
	}
}
