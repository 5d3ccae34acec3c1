package procfs

import (
	"os"
	"path/filepath"
	"testing"

	"imgward/errors"
)

func TestReadUsage(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	pid := os.Getpid()
	u, err := ReadUsage("", pid, 0)
	if err != nil || u.Threads < 1 || u.RSSBytes <= 0 || u.CPUSeconds < 0 {
		t.Fatalf("this process: %+v, %v", u, err)
	}
	// The main thread's TID is the PID.
	if th, err := ReadUsage("", pid, pid); err != nil || th.Threads != u.Threads {
		t.Errorf("main thread: %+v, %v", th, err)
	}
	for _, tc := range []struct {
		pid, tid int
		kind     errors.Kind
	}{
		{pid, 1, errors.NotExist}, // init's thread is not ours
		{1 << 30, 0, errors.NotExist},
		{0, 0, errors.Invalid},
		{pid, -1, errors.Invalid},
	} {
		if _, err := ReadUsage("", tc.pid, tc.tid); errors.KindOf(err) != tc.kind {
			t.Errorf("ReadUsage(%d, %d) = %v, want %v", tc.pid, tc.tid, err, tc.kind)
		}
	}
	// A stat file that does not parse.
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "7"), 0o700)
	os.WriteFile(filepath.Join(dir, "7", "stat"), []byte("7 (x) S"), 0o600)
	if _, err := ReadUsage(dir, 7, 0); errors.KindOf(err) != errors.Invalid {
		t.Errorf("bad stat: %v, want Invalid", err)
	}
}
