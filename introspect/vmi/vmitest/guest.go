package vmitest

import (
	"bytes"
	stderrors "errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Guest is a Linux test guest that scripts/testguest.sh booted: Debian's
// kernel and a busybox initramfs under TCG, its RAM shared as a file.
type Guest struct {
	Name   string
	QMP    string // the QMP socket
	Mem    string // the RAM file, for introspect/vmi's --mem
	Kernel string // the vmlinuz it booted, for --kernel
	Serial string // the serial console's log
	script string
}

var guests atomic.Int64

// Boot starts a guest with scripts/testguest.sh's start options (such as
// "--kaslr", "--init", FILE) and returns once it is up. The name is made
// unique to this process. Stop it with Stop.
func Boot(name string, opts ...string) (*Guest, error) {
	script, err := scriptPath()
	if err != nil {
		return nil, err
	}
	g := &Guest{Name: fmt.Sprintf("%s-%d-%d", name, os.Getpid(), guests.Add(1)), script: script}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(script, append([]string{"start", g.Name}, opts...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// Should this process die before it stops the guest, the script's
	// watchdog will.
	cmd.Env = append(os.Environ(), "IMGWARD_GUEST_OWNER="+strconv.Itoa(os.Getpid()))
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("testguest.sh start %s: %v: %s", g.Name, err, stderr.String())
	}
	for _, kv := range strings.Fields(stdout.String()) {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "IMGWARD_GUEST_QMP":
			g.QMP = v
		case "IMGWARD_GUEST_MEM":
			g.Mem = v
		case "IMGWARD_GUEST_KERNEL":
			g.Kernel = v
		case "IMGWARD_GUEST_SERIAL":
			g.Serial = v
		}
	}
	if g.QMP == "" || g.Mem == "" || g.Kernel == "" || g.Serial == "" {
		g.Stop()
		return nil, fmt.Errorf("testguest.sh start %s printed %q", g.Name, stdout.String())
	}
	return g, nil
}

// Stop stops the guest and removes its files.
func (g *Guest) Stop() error {
	out, err := exec.Command(g.script, "stop", g.Name).CombinedOutput()
	if err != nil {
		return fmt.Errorf("testguest.sh stop %s: %v: %s", g.Name, err, out)
	}
	return nil
}

// Console returns what the guest printed on its serial console so far.
func (g *Guest) Console() string {
	b, _ := os.ReadFile(g.Serial)
	return string(b)
}

// Spec is a guest to boot: a name and scripts/testguest.sh's start options.
type Spec struct {
	Name string
	Opts []string
}

// BootAll boots the guests at once (a TCG guest's boot is mostly waiting
// on one core) and returns them in the order given. When one fails, those
// that came up are stopped.
func BootAll(specs ...Spec) ([]*Guest, error) {
	guests := make([]*Guest, len(specs))
	errs := make([]error, len(specs))
	var wg sync.WaitGroup
	for i, s := range specs {
		wg.Go(func() { guests[i], errs[i] = Boot(s.Name, s.Opts...) })
	}
	wg.Wait()
	if err := stderrors.Join(errs...); err != nil {
		for _, g := range guests {
			if g != nil {
				g.Stop()
			}
		}
		return nil, err
	}
	return guests, nil
}

// StartGuests boots guests for a test, at once, and stops them at the
// test's end. A host that cannot run guests (no QEMU, and not root to
// install it) skips the test, or fails it with CI=true.
func StartGuests(t testing.TB, specs ...Spec) []*Guest {
	t.Helper()
	CanBoot(t)
	start := time.Now()
	guests, err := BootAll(specs...)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range guests {
		t.Cleanup(func() {
			if err := g.Stop(); err != nil {
				t.Error(err)
			}
		})
	}
	t.Logf("%d guests up in %v", len(guests), time.Since(start).Round(time.Millisecond))
	return guests
}

// CanBoot skips the test (fails it with CI=true) when this host can
// neither boot test guests nor install what they need.
func CanBoot(t testing.TB) {
	t.Helper()
	kernels, _ := filepath.Glob("/boot/vmlinuz-*-amd64")
	_, qerr := os.Stat(System)
	_, berr := os.Stat("/bin/busybox")
	if (qerr == nil && berr == nil && len(kernels) > 0) || os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("test guests need qemu-system-x86, busybox-static and linux-image-amd64 (run scripts/test-deps.sh)")
	}
	t.Skip("test guests need qemu-system-x86, busybox-static and linux-image-amd64 (run scripts/test-deps.sh)")
}

// scriptPath finds scripts/testguest.sh above the working directory (a
// test runs in its package's directory).
func scriptPath() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "scripts", "testguest.sh")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no scripts/testguest.sh above the working directory")
		}
		dir = parent
	}
}

// StartGuest boots one guest for a test, as StartGuests.
func StartGuest(t testing.TB, name string, opts ...string) *Guest {
	t.Helper()
	return StartGuests(t, Spec{Name: name, Opts: opts})[0]
}
