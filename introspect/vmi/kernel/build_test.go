package kernel

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// debianKernel is the newest Debian kernel of the host, which
// scripts/testguest.sh boots; the test is skipped without one, or fails
// under CI=true.
func debianKernel(t testing.TB) string {
	t.Helper()
	m, _ := filepath.Glob("/boot/vmlinuz-*-amd64")
	if len(m) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("no /boot/vmlinuz-*-amd64 (run scripts/test-deps.sh)")
		}
		t.Skip("no /boot/vmlinuz-*-amd64 (run scripts/test-deps.sh)")
	}
	return m[len(m)-1]
}

func TestLoadDebian(t *testing.T) {
	path := debianKernel(t)
	start := time.Now()
	b, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d symbols, %s, parsed in %v", path, b.Symbols(), b.Version, time.Since(start))
	for _, name := range []string{"init_task", "linux_banner", "init_top_pgt", "modules", "socket_file_ops", "init_pid_ns"} {
		a, err := b.LinkAddress(name)
		if err != nil || a < startKernelMap {
			t.Errorf("%s: %#x, %v", name, a, err)
		}
	}
	t.Logf("init_task %#x", b.syms["init_task"].addr)
	t.Logf("runqueues %+v", b.syms["runqueues"])
}

// TestUnxz checks the decompression of the vmlinuz (the x86 filter above
// all) against xz's own.
func TestUnxz(t *testing.T) {
	data, err := os.ReadFile(debianKernel(t))
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(data, xzMagic)
	if i < 0 {
		t.Fatal("no xz stream in the vmlinuz")
	}
	// xz decodes the stream, then fails on the bytes after it.
	cmd := exec.Command("xz", "-dcq")
	cmd.Stdin = bytes.NewReader(data[i:])
	want, _ := cmd.Output()
	if !bytes.HasPrefix(want, elfMagic) {
		t.Fatalf("xz -dc: %d bytes, not an ELF file (is xz-utils installed?)", len(want))
	}
	got, err := decompress(data)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		n := 0
		for n < len(got) && n < len(want) && got[n] == want[n] {
			n++
		}
		t.Fatalf("decompressed %d bytes, xz %d; first difference at %#x", len(got), len(want), n)
	}
}
