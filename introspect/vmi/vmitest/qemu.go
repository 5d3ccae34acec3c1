// Package vmitest starts real QEMU virtual machines for the tests of
// introspect/vmi and of the collectors that use it.
package vmitest

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// System is the QEMU that the tests run; Debian's package qemu-system-x86
// installs it (scripts/test-deps.sh).
const System = "/usr/bin/qemu-system-x86_64"

// img is qemu-img, of the package qemu-utils.
const img = "/usr/bin/qemu-img"

// QEMU is a running virtual machine with its QMP socket.
type QEMU struct {
	Socket string
	Cmd    *exec.Cmd
}

// Start boots a small machine with one 16 MiB qcow2 disk (virtio0), under
// TCG (CI machines may lack /dev/kvm), with extra arguments, and kills it
// at the end of the test. The disk is blank, so SeaBIOS reads its first
// sector, finds nothing to boot and waits: the guest does real disk I/O
// and then idles. Without QEMU the test is skipped, or fails with
// CI=true.
func Start(t testing.TB, extra ...string) *QEMU {
	t.Helper()
	for _, p := range []string{System, img} {
		if _, err := os.Stat(p); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is missing (run scripts/test-deps.sh): %v", p, err)
			}
			t.Skipf("%s is missing (run scripts/test-deps.sh)", p)
		}
	}
	dir := t.TempDir() // short enough for a unix socket's 108 bytes
	disk := filepath.Join(dir, "disk.qcow2")
	if out, err := exec.Command(img, "create", "-q", "-f", "qcow2", disk, "16M").CombinedOutput(); err != nil {
		t.Fatalf("qemu-img create: %v: %s", err, out)
	}
	q := &QEMU{Socket: filepath.Join(dir, "qmp.sock")}
	args := append([]string{
		"-nodefaults", "-display", "none", "-machine", "q35,accel=tcg", "-m", "64",
		"-qmp", "unix:" + q.Socket + ",server=on,wait=off",
		"-drive", "file=" + disk + ",if=virtio,format=qcow2", "-boot", "c",
	}, extra...)
	var stderr bytes.Buffer
	q.Cmd = exec.Command(System, args...)
	q.Cmd.Stderr = &stderr
	if err := q.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- q.Cmd.Wait() }()
	t.Cleanup(func() {
		q.Cmd.Process.Kill()
		<-exited
	})
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		select {
		case err := <-exited:
			exited <- err // for the cleanup
			t.Fatalf("QEMU exited: %v: %s", err, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if c, err := net.Dial("unix", q.Socket); err == nil {
			c.Close()
			return q
		}
	}
	t.Fatalf("QEMU serves no QMP at %s after 30s", q.Socket)
	return nil
}
