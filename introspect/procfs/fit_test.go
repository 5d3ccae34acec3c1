package procfs

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"imgward/snapshot"
)

// TestSnapshotWithinLimits: an instance that holds more than a snapshot
// can say (1500 processes, each with its own long executable path and its
// own peer) still gets a snapshot that the server takes: every set within
// snapshot.MaxSetItems and the line within snapshot.MaxLine, what was left
// out counted in meta.dropped.<set>. A process whose stat is one line too
// long, and a socket table with a line over 64 KiB, are left out with a
// logged reason that names the file, and the other processes are still
// reported.
func TestSnapshotWithinLimits(t *testing.T) {
	const n = 1500
	proc, cg := t.TempDir(), t.TempDir()
	var pids, tcp strings.Builder
	tcp.WriteString("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n")
	for i := range n {
		pid := 1000 + i
		fmt.Fprintln(&pids, pid)
		dir := filepath.Join(proc, fmt.Sprint(pid))
		mkdirs(t, filepath.Join(dir, "fd"), filepath.Join(dir, "ns"), filepath.Join(dir, "net"))
		write(t, filepath.Join(dir, "stat"), fmt.Sprintf("%d (worker) S 1 1 1 0 -1 0 0 0 0 0 5 5 0 0 20 0 1 0 100 1000 10 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0", pid))
		link(t, "/nix/store/"+strings.Repeat(fmt.Sprintf("%04d", i), 40)+"-app/bin/worker", filepath.Join(dir, "exe"))
		link(t, "net:[4026531840]", filepath.Join(dir, "ns", "net"))
		link(t, fmt.Sprintf("socket:[%d]", 50000+i), filepath.Join(dir, "fd", "3"))
		fmt.Fprintf(&tcp, "%4d: 0100007F:1F90 %08X:%04X 01 00000000:00000000 00:00000000 00000000  1000        0 %d 1 0 20 4 30 10 -1\n",
			i, 0x0A000000+i, 1024+i, 50000+i)
	}
	first := filepath.Join(proc, "1000")
	write(t, filepath.Join(first, "net", "tcp"), tcp.String())
	udp := filepath.Join(first, "net", "udp")
	write(t, udp, "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: "+strings.Repeat("0", 70<<10)+"\n")
	// A process whose stat is one line of 5000 bytes.
	bad := filepath.Join(proc, "999")
	mkdirs(t, bad)
	write(t, filepath.Join(bad, "stat"), "999 ("+strings.Repeat("x", 5000)+") S 1")
	fmt.Fprintln(&pids, 999)
	write(t, filepath.Join(cg, "cgroup.procs"), pids.String())

	var logs bytes.Buffer
	c := &Collector{Proc: proc, Cgroup: cg, Instance: "i-00000000000000aa", Log: slog.New(slog.NewTextHandler(&logs, nil))}
	s, err := c.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	line, err := snapshot.Marshal(s)
	if err != nil {
		t.Fatalf("the server would refuse the snapshot: %v", err)
	}
	t.Logf("line of %d bytes; exes %d, remote %d; %v", len(line), len(s.Sets["proc.exes"]), len(s.Sets["net.remote"]), s.Numeric)
	if s.Numeric["proc.count"] != n || s.Numeric["net.connections"] != n {
		t.Errorf("proc.count %v, net.connections %v; want %d each", s.Numeric["proc.count"], s.Numeric["net.connections"], n)
	}
	for _, set := range []string{"proc.exes", "net.remote"} {
		got := len(s.Sets[set])
		if got == 0 || got > snapshot.MaxSetItems {
			t.Errorf("%s: %d items", set, got)
		}
		if d := s.Numeric[droppedName(set)]; int(d)+got != n {
			t.Errorf("%s: %d items kept and %v counted as dropped, want %d in all", set, got, d, n)
		}
	}
	if _, ok := s.Numeric[droppedName("proc.names")]; ok || len(s.Sets["proc.names"]) != 1 {
		t.Errorf("proc.names %v: nothing should be dropped of one name", s.Sets["proc.names"])
	}
	if s.Numeric["meta.procfs.skipped"] != 2 {
		t.Errorf("meta.procfs.skipped = %v, want 2", s.Numeric["meta.procfs.skipped"])
	}
	for _, name := range []string{filepath.Join(bad, "stat"), udp} {
		if !strings.Contains(logs.String(), name) {
			t.Errorf("the log does not name %s:\n%s", name, logs.String())
		}
	}
}

func TestItemSet(t *testing.T) {
	var s itemSet
	for i := range snapshot.MaxSetItems + 10 {
		s.add(fmt.Sprint(i))
		s.add(fmt.Sprint(i)) // a repeat is neither kept twice nor dropped
	}
	s.add(strings.Repeat("é", snapshot.MaxItem)) // cut to MaxItem bytes, still UTF-8
	if got := s.list(); len(got) != snapshot.MaxSetItems || s.dropped != 21 {
		t.Errorf("%d items, %d dropped; want %d and 21", len(got), s.dropped, snapshot.MaxSetItems)
	}
}

func mkdirs(t *testing.T, dirs ...string) {
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func write(t *testing.T, name, s string) {
	if err := os.WriteFile(name, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func link(t *testing.T, target, name string) {
	if err := os.Symlink(target, name); err != nil {
		t.Fatal(err)
	}
}

// TestTreeSkipsOddStat: a process tree is found from every stat file of
// the host; one that does not parse (another process's) is logged and
// left out, not the end of the snapshot.
func TestTreeSkipsOddStat(t *testing.T) {
	proc := t.TempDir()
	for pid, stat := range map[int]string{
		10: "10 (init) S 1 1 1 0 -1 0 0 0 0 0 5 5 0 0 20 0 1 0 100 1000 10",
		11: "11 (child) S 10 1 1 0 -1 0 0 0 0 0 5 5 0 0 20 0 1 0 100 1000 10",
		12: "12 (odd) S",
	} {
		dir := filepath.Join(proc, fmt.Sprint(pid))
		mkdirs(t, dir)
		write(t, filepath.Join(dir, "stat"), stat)
	}
	var logs bytes.Buffer
	c := &Collector{Proc: proc, PID: 10, Instance: "i-00000000000000aa", Log: slog.New(slog.NewTextHandler(&logs, nil))}
	s, err := c.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s.Numeric["proc.count"] != 2 || !strings.Contains(logs.String(), filepath.Join(proc, "12", "stat")) {
		t.Errorf("proc.count %v; log %q", s.Numeric["proc.count"], logs.String())
	}
}
