package vmi

import (
	"context"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"imgward/errors"
	"imgward/introspect/vmi/guest"
	"imgward/introspect/vmi/vmitest"
)

// The package's test guests are booted once, concurrently, on first use,
// and stopped by TestMain.
var testGuests struct {
	once sync.Once
	m    map[string]*vmitest.Guest
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, g := range testGuests.m {
		g.Stop()
	}
	os.Exit(code)
}

// bootGuests boots a guest without KASLR and one with (5-level paging).
func bootGuests(t *testing.T) map[string]*vmitest.Guest {
	t.Helper()
	vmitest.CanBoot(t)
	testGuests.once.Do(func() {
		guests, err := vmitest.BootAll(
			vmitest.Spec{Name: "vmi-plain", Opts: []string{"--init", "testdata/guest-init.sh"}},
			vmitest.Spec{Name: "vmi-kaslr", Opts: []string{"--init", "testdata/guest-init.sh", "--kaslr"}})
		if err != nil {
			testGuests.err = err
			return
		}
		testGuests.m = map[string]*vmitest.Guest{"plain": guests[0], "kaslr": guests[1]}
	})
	if testGuests.err != nil {
		t.Fatal(testGuests.err)
	}
	return testGuests.m
}

// TestCollectorGuestMemory takes snapshots with guest memory, paused and
// live, of a guest with and without KASLR: one snapshot carries QMP's
// features and the guest's, the guest runs again after a paused scan, and
// the listener and processes of the guest's init are seen.
func TestCollectorGuestMemory(t *testing.T) {
	for name, g := range bootGuests(t) {
		for _, live := range []bool{false, true} {
			t.Run(name+map[bool]string{false: "/paused", true: "/live"}[live], func(t *testing.T) {
				gm := &Guest{Mem: g.Mem, Kernel: g.Kernel, Live: live}
				defer gm.Close()
				c := &Collector{Socket: g.QMP, Instance: instance, Guest: gm}
				s, err := c.Snapshot(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				n, sets := s.Numeric, s.Sets
				if n["vm.vcpus"] != 1 || n["proc.count"] < 3 {
					t.Errorf("vm.vcpus %v, proc.count %v", n["vm.vcpus"], n["proc.count"])
				}
				for _, want := range []string{"nc", "sleep", "init"} {
					if !slices.Contains(sets["proc.names"], want) {
						t.Errorf("proc.names %q lacks %s", sets["proc.names"], want)
					}
				}
				// busybox's nc listens on IPv6's any address, which takes
				// IPv4 too.
				if !slices.Contains(sets["net.listen"], "tcp:[::]:4444") {
					t.Errorf("net.listen %q lacks tcp:[::]:4444", sets["net.listen"])
				}
				if n["proc.hidden"] != 0 || n["proc.fake_kthreads"] != 0 {
					t.Errorf("a benign guest: proc.hidden %v, proc.fake_kthreads %v", n["proc.hidden"], n["proc.fake_kthreads"])
				}
				// The guest was resumed: the next snapshot sees it run.
				s2, err := (&Collector{Socket: g.QMP, Instance: instance}).Snapshot(context.Background())
				if err != nil || s2.Numeric["vm.running"] != 1 {
					t.Fatalf("after the scan: %v, vm.running %v", err, s2.Numeric["vm.running"])
				}
			})
		}
	}
}

// TestGuestScanTiming checks that a paused scan pauses the guest around
// the scan (the figures of docs/BENCHMARKS.md come from an unloaded run;
// a loaded host's QMP round trips get the 500 ms slack here), and that a
// second scan reuses the located kernel.
func TestGuestScanTiming(t *testing.T) {
	g := bootGuests(t)["plain"]
	gm := &Guest{Mem: g.Mem, Kernel: g.Kernel}
	defer gm.Close()
	if _, _, err := gm.Scan(context.Background(), g.QMP); err != nil {
		t.Fatal(err)
	}
	first := gm.run
	st, tm, err := gm.Scan(context.Background(), g.QMP)
	if err != nil {
		t.Fatal(err)
	}
	if gm.run != first {
		t.Error("the second scan located the kernel again")
	}
	t.Logf("%d processes, %d sockets, %d modules: scan %v, paused %v", len(st.Processes), len(st.Sockets), len(st.Modules), tm.Scan, tm.Paused)
	if tm.Attempts != 1 || tm.Paused < tm.Scan || tm.Paused > tm.Scan+500*time.Millisecond {
		t.Errorf("timing %+v: want one attempt, a pause a little longer than the scan", tm)
	}
}

// TestGuestErrors: what a scan refuses, each with a message that says
// what is wrong.
func TestGuestErrors(t *testing.T) {
	g := bootGuests(t)["plain"]
	other := t.TempDir() + "/ram"
	if err := os.WriteFile(other, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		gm        *Guest
		socket    string
		kind      errors.Kind
		inMessage string
	}{
		{"no RAM file", &Guest{Mem: "/nonexistent", Kernel: g.Kernel}, g.QMP, errors.NotExist, "/nonexistent"},
		{"no kernel", &Guest{Mem: g.Mem, Kernel: "/nonexistent"}, g.QMP, errors.NotExist, "/nonexistent"},
		{"not a kernel", &Guest{Mem: g.Mem, Kernel: "testdata/guest-init.sh"}, g.QMP, errors.Invalid, "not a vmlinux"},
		{"another guest's RAM", &Guest{Mem: other, Kernel: g.Kernel}, g.QMP, errors.NotExist, "no running copy"},
		{"no QEMU", &Guest{Mem: g.Mem, Kernel: g.Kernel}, "/nonexistent.sock", errors.NotExist, "no QEMU"},
	} {
		_, _, err := c.gm.Scan(context.Background(), c.socket)
		if errors.KindOf(err) != c.kind || !strings.Contains(err.Error(), c.inMessage) {
			t.Errorf("%s: %v; want kind %v and %q", c.name, err, c.kind, c.inMessage)
		}
		c.gm.Close()
	}
	// None of them left the guest paused.
	s, err := (&Collector{Socket: g.QMP, Instance: instance}).Snapshot(context.Background())
	if err != nil || s.Numeric["vm.running"] != 1 {
		t.Errorf("after the errors: %v, vm.running %v", err, s.Numeric["vm.running"])
	}
}

// TestGuestPauseTimeout: a scan that overruns its pause ends, and the
// guest runs again.
func TestGuestPauseTimeout(t *testing.T) {
	g := bootGuests(t)["plain"]
	defer func(d time.Duration) { maxPause = d }(maxPause)
	maxPause = time.Nanosecond
	gm := &Guest{Mem: g.Mem, Kernel: g.Kernel}
	defer gm.Close()
	if _, _, err := gm.Scan(context.Background(), g.QMP); errors.KindOf(err) != errors.Unavailable {
		t.Errorf("a scan past its pause: %v, want kind Unavailable", err)
	}
	s, err := (&Collector{Socket: g.QMP, Instance: instance}).Snapshot(context.Background())
	if err != nil || s.Numeric["vm.running"] != 1 {
		t.Errorf("after the scan: %v, vm.running %v", err, s.Numeric["vm.running"])
	}
}

// TestGuestReboot resets the KASLR guest: the kernel comes back at
// another address, and the same Guest finds it again.
func TestGuestReboot(t *testing.T) {
	g := bootGuests(t)["kaslr"]
	gm := &Guest{Mem: g.Mem, Kernel: g.Kernel}
	defer gm.Close()
	if _, _, err := gm.Scan(context.Background(), g.QMP); err != nil {
		t.Fatal(err)
	}
	before := gm.run.Slide
	if _, err := vmitest.HMP(g.QMP, "system_reset"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Minute)
	for strings.Count(g.Console(), "IMGWARD-GUEST-READY") < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the guest did not come back:\n%s", g.Console())
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The marker is printed once the init's children run; on a loaded
	// host one of them may still be a forked shell that has not exec'd
	// nc: a few scans, then.
	var n int
	for try := 0; ; try++ {
		st, _, err := gm.Scan(context.Background(), g.QMP)
		if err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(st.Processes, func(p guest.Process) bool { return p.Comm == "nc" }) {
			break
		}
		if n = len(st.Processes); try == 20 {
			t.Fatalf("after the reset, no nc among %d processes", n)
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("slide %#x before the reset, %#x after", before, gm.run.Slide)
}

// TestRetryTorn: a live scan whose lists changed under it is run again,
// up to 3 times; an error ends the retries at once.
func TestRetryTorn(t *testing.T) {
	for _, c := range []struct {
		name string
		torn []int // Torn of each successive scan
		fail int   // the scan (1-based) that errs; 0: none
		runs int
		kind errors.Kind
	}{
		{"clean", []int{0}, 0, 1, 0},
		{"torn once", []int{2, 0}, 0, 2, 0},
		{"torn twice", []int{1, 5, 0}, 0, 3, 0},
		{"always torn", []int{1, 1, 1, 0}, 0, 3, errors.Unavailable},
		{"an error", []int{1, 0}, 1, 1, errors.Invalid},
	} {
		runs := 0
		st, err := retryTorn(func() (*guest.State, error) {
			runs++
			if runs == c.fail {
				return nil, errors.E(errors.Invalid, errors.Msg("unreadable"))
			}
			return &guest.State{Torn: c.torn[runs-1]}, nil
		})
		if runs != c.runs || errors.KindOf(err) != c.kind || (err == nil && st.Torn != 0) {
			t.Errorf("%s: %d runs, %v; want %d runs, kind %v", c.name, runs, err, c.runs, c.kind)
		}
	}
}
