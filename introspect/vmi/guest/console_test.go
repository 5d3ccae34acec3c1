package guest_test

import (
	"context"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"imgward/introspect/vmi/guest"
	"imgward/introspect/vmi/guestmem"
	"imgward/introspect/vmi/kernel"
	"imgward/introspect/vmi/vmitest"
)

// The helpers of the tests on real guests (realguest_test.go): guests
// booted by scripts/testguest.sh (Debian's kernel, a busybox initramfs,
// QEMU TCG) whose init prints what the guest says of itself on the serial
// console, scanned, and that console read back.

// guestKernel is the vmlinuz that testguest.sh boots (the newest) and its
// version, for the modules built or copied for it.
func guestKernel(t *testing.T) (path, version string) {
	t.Helper()
	out, err := exec.Command("sh", "-c", "ls /boot/vmlinuz-*-amd64 | sort -V | tail -n 1").Output()
	path = strings.TrimSpace(string(out))
	if err != nil || path == "" {
		t.Fatalf("no Debian kernel in /boot (run scripts/test-deps.sh): %v", err)
	}
	return path, strings.TrimPrefix(filepath.Base(path), "vmlinuz-")
}

// writeInit writes a guest's init script into a temporary file.
func writeInit(t testing.TB, script string) string {
	t.Helper()
	init := filepath.Join(t.TempDir(), "init.sh")
	if err := os.WriteFile(init, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	return init
}

// bootScript boots a guest whose init runs script, with files copied in,
// and with KASLR when kaslr is set (then the vmlinuz boots and turns on
// 5-level paging; without, the vmlinux keeps 4 levels).
func bootScript(t *testing.T, name, script string, kaslr bool, files ...string) *vmitest.Guest {
	t.Helper()
	opts := []string{"--init", writeInit(t, script)}
	if kaslr {
		opts = append(opts, "--kaslr")
	}
	for _, f := range files {
		opts = append(opts, "--file", f)
	}
	return vmitest.StartGuest(t, name, opts...)
}

// attach finds the guest's kernel in its memory and makes a scanner of it.
func attach(t *testing.T, g *vmitest.Guest) (*guest.Scanner, guest.Memory) {
	t.Helper()
	b, err := kernel.Load(g.Kernel)
	if err != nil {
		t.Fatal(err)
	}
	p, err := guestmem.OpenPhys(g.Mem, guestmem.Q35)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	r, err := b.Locate(p)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := guest.NewScanner(r)
	if err != nil {
		t.Fatal(err)
	}
	return sc, r.Space
}

// scanGuest scans the guest's memory, paused, as the collector does.
func scanGuest(t *testing.T, g *vmitest.Guest) *guest.State {
	t.Helper()
	sc, space := attach(t, g)
	if _, err := vmitest.HMP(g.QMP, "stop"); err != nil {
		t.Fatal(err)
	}
	st, err := sc.Scan(context.Background(), space)
	if _, err := vmitest.HMP(g.QMP, "cont"); err != nil {
		t.Fatal(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if st.Skipped != 0 || st.Torn != 0 || len(st.Truncated) != 0 {
		t.Errorf("a paused guest: skipped %v, torn %d, truncated %q", st.SkippedBy, st.Torn, st.Truncated)
	}
	return st
}

// consoleOf is the guest's console so far, its lines ending in "\n"
// (a serial console's end in "\r\n").
func consoleOf(g *vmitest.Guest) string {
	return strings.ReplaceAll(g.Console(), "\r", "")
}

// section is the console's lines between "===NAME" and the next "===".
func section(console, name string) []string {
	_, rest, ok := strings.Cut(console, "==="+name+"\n")
	if !ok {
		return nil
	}
	rest, _, _ = strings.Cut(rest, "===")
	return strings.Split(strings.TrimSpace(rest), "\n")
}

// consoleValue is the word after "key " on the console.
func consoleValue(t *testing.T, console, key string) int {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + key + ` (\d+)$`).FindStringSubmatch(console)
	if m == nil {
		t.Fatalf("the console has no %q line:\n%s", key, console)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// netstatAddrs reads busybox netstat's lines: with listen, the
// "PROTO:ADDR:PORT" of listening TCP and bound UDP sockets (netstat -ltun:
// "tcp 0 0 :::8080 :::* LISTEN", "udp 0 0 0.0.0.0:67 0.0.0.0:*");
// without, the "ADDR:PORT" of established TCP connections' peers
// (netstat -tn). IPv4-mapped addresses are unmapped, as procfs does.
func netstatAddrs(t *testing.T, lines []string, listen bool) []string {
	t.Helper()
	var out []string
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) < 5 {
			continue
		}
		proto := strings.TrimSuffix(f[0], "6")
		switch {
		case listen && proto == "tcp" && len(f) == 6 && f[5] == "LISTEN", listen && proto == "udp":
			out = append(out, proto+":"+parseHostPort(t, f[3]))
		case !listen && proto == "tcp" && len(f) == 6 && f[5] == "ESTABLISHED":
			out = append(out, parseHostPort(t, f[4]))
		}
	}
	slices.Sort(out)
	return out
}

func parseHostPort(t *testing.T, s string) string {
	t.Helper()
	i := strings.LastIndexByte(s, ':')
	addr, err1 := netip.ParseAddr(s[:max(i, 0)])
	port, err2 := strconv.ParseUint(s[i+1:], 10, 16)
	if i < 0 || err1 != nil || err2 != nil {
		t.Fatalf("netstat address %q", s)
	}
	return netip.AddrPortFrom(addr.Unmap(), uint16(port)).String()
}

func byPID(st *guest.State) map[int]guest.Process {
	m := map[int]guest.Process{}
	for _, p := range st.Processes {
		m[p.PID] = p
	}
	return m
}
