package vmi

import (
	"context"
	"slices"
	"testing"
	"time"

	"imgward/errors"
	"imgward/introspect/vmi/vmitest"
	"imgward/snapshot"
)

const instance = "i-00000000000000b1"

// TestQEMU takes snapshots of a real QEMU: booting (SeaBIOS reads the
// disk), stopped through QMP, and killed.
func TestQEMU(t *testing.T) {
	q := vmitest.Start(t, "-smp", "2", "-device", "virtio-balloon-pci")
	ctx := context.Background()
	c := &Collector{Socket: q.Socket, Instance: instance}

	// The peer credentials name QEMU itself.
	qc, err := dial(ctx, q.Socket)
	if err != nil {
		t.Fatal(err)
	}
	if qc.pid != q.Cmd.Process.Pid {
		t.Errorf("peer PID %d, QEMU is %d", qc.pid, q.Cmd.Process.Pid)
	}
	qc.close()

	s := waitFor(t, c, func(s *snapshot.Snapshot) bool { return s.Numeric["block.rd_ops"] >= 1 })
	n := s.Numeric
	if s.Source != snapshot.SourceVMI || s.InstanceID != instance {
		t.Errorf("source %q, instance %q", s.Source, s.InstanceID)
	}
	if n["vm.running"] != 1 || !slices.Equal(s.Sets["vm.status"], []string{"running"}) {
		t.Errorf("running: vm.running %v, vm.status %q", n["vm.running"], s.Sets["vm.status"])
	}
	if n["block.rd_bytes"] < 512 || n["block.wr_ops"] != 0 || !slices.Equal(s.Sets["block.devices"], []string{"virtio0"}) {
		t.Errorf("block: %v, devices %q", n, s.Sets["block.devices"])
	}
	if n["vm.vcpus"] != 2 || n["mem.balloon_bytes"] != 64<<20 {
		t.Errorf("vcpus %v, balloon %v", n["vm.vcpus"], n["mem.balloon_bytes"])
	}
	// The main thread, two vCPU threads, and QEMU's I/O and RCU threads.
	if n["host.threads"] < 4 || n["host.rss_bytes"] < 1<<20 || n["host.cpu_seconds"] < n["host.vcpu_seconds"] || n["host.cpu_seconds"] <= 0 {
		t.Errorf("host: %v", n)
	}
	if _, err := snapshot.Marshal(s); err != nil {
		t.Error(err)
	}

	qc, err = dial(ctx, q.Socket)
	if err != nil {
		t.Fatal(err)
	}
	if err := qc.execute(ctx, "stop", nil); err != nil {
		t.Fatal(err)
	}
	qc.close()
	s, err = c.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Numeric["vm.running"] != 0 || !slices.Equal(s.Sets["vm.status"], []string{"paused"}) {
		t.Errorf("stopped: vm.running %v, vm.status %q", s.Numeric["vm.running"], s.Sets["vm.status"])
	}

	q.Cmd.Process.Kill()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		_, err = c.Snapshot(ctx)
		if errors.KindOf(err) == errors.NotExist || time.Now().After(deadline) {
			break
		}
	}
	if errors.KindOf(err) != errors.NotExist {
		t.Errorf("killed QEMU: %v, want NotExist", err)
	}
}

// waitFor polls c until ok holds of a snapshot, for at most a minute (TCG
// on a busy machine boots slowly).
func waitFor(t *testing.T, c *Collector, ok func(*snapshot.Snapshot) bool) *snapshot.Snapshot {
	t.Helper()
	var s *snapshot.Snapshot
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var err error
		if s, err = c.Snapshot(context.Background()); err != nil {
			t.Fatal(err)
		}
		if ok(s) {
			return s
		}
	}
	t.Fatalf("no snapshot as wanted in a minute; the last: %+v", s)
	return nil
}
