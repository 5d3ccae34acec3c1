package procfs

import (
	"context"
	"fmt"
	"imgward/snapshot"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain doubles as the helper that the process-tree test runs: with
// PROCFS_HELPER_PORTFILE set, the test binary opens a TCP listener on
// 127.0.0.1, connects to it once (a connection with a remote end), writes
// the port to that file and waits to be killed.
func TestMain(m *testing.M) {
	if f := os.Getenv("PROCFS_HELPER_PORTFILE"); f != "" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			os.Exit(3)
		}
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			os.Exit(3)
		}
		s, _ := ln.Accept()
		port := ln.Addr().(*net.TCPAddr).Port
		os.WriteFile(f+".tmp", []byte(strconv.Itoa(port)), 0o600)
		os.Rename(f+".tmp", f)
		time.Sleep(time.Minute) // the test kills us long before
		_, _ = c, s
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// start runs a shell command in its own process group with the helper's
// environment, and kills the group at the end of the test.
func start(t *testing.T, script, portFile string) *exec.Cmd {
	cmd := exec.Command("sh", "-c", script, os.Args[0])
	cmd.Env = append(os.Environ(), "PROCFS_HELPER_PORTFILE="+portFile)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	return cmd
}

func waitPort(t *testing.T, file string) string {
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if b, err := os.ReadFile(file); err == nil {
			return string(b)
		}
	}
	t.Fatalf("the helper wrote no port to %s", file)
	return ""
}

func TestProcessTree(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	dir := t.TempDir()
	// The tree: sh, two sleeps, and the helper, which listens.
	in := start(t, `sleep 60 & sleep 61 & "$0" & wait`, filepath.Join(dir, "in"))
	// Outside the tree: another helper, whose port must not appear.
	start(t, `exec "$0"`, filepath.Join(dir, "out"))
	inPort, outPort := waitPort(t, filepath.Join(dir, "in")), waitPort(t, filepath.Join(dir, "out"))

	c := &Collector{Instance: "i-00000000000000aa", PID: in.Process.Pid}
	s, err := c.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sets := s.Sets
	if !slices.Contains(sets["net.listen"], "tcp:127.0.0.1:"+inPort) || slices.Contains(sets["net.listen"], "tcp:127.0.0.1:"+outPort) {
		t.Errorf("net.listen %q: want port %s and not %s", sets["net.listen"], inPort, outPort)
	}
	if !slices.Contains(sets["net.remote"], "127.0.0.1:"+inPort) || slices.Contains(sets["net.remote"], "127.0.0.1:"+outPort) {
		t.Errorf("net.remote %q", sets["net.remote"])
	}
	for _, name := range []string{"sh", "sleep", "procfs.test"} {
		if !slices.Contains(sets["proc.names"], name) {
			t.Errorf("proc.names %q lacks %s", sets["proc.names"], name)
		}
	}
	self, _ := os.Executable()
	sleep, _ := exec.LookPath("sleep")
	sleep, _ = filepath.EvalSymlinks(sleep)
	for _, exe := range []string{self, sleep} {
		if !slices.Contains(sets["proc.exes"], exe) {
			t.Errorf("proc.exes %q lacks %s", sets["proc.exes"], exe)
		}
	}
	n := s.Numeric
	if n["proc.count"] != 4 || n["net.listeners"] != 1 || n["net.connections"] != 2 || n["proc.threads"] < 4 || n["proc.rss_bytes"] <= 0 {
		t.Errorf("numeric %v", n)
	}
	if _, err := snapshot.Marshal(s); err != nil {
		t.Error(err)
	}

	// The same group as a cgroup: a cgroup.procs listing the tree's PIDs.
	pids, _ := c.members()
	cg := t.TempDir()
	var b strings.Builder
	for _, p := range pids {
		fmt.Fprintln(&b, p)
	}
	os.WriteFile(filepath.Join(cg, "cgroup.procs"), []byte(b.String()), 0o600)
	s2, err := (&Collector{Instance: "i-00000000000000aa", Cgroup: cg}).Snapshot(context.Background())
	if err != nil || !slices.Equal(s2.Sets["net.listen"], sets["net.listen"]) || s2.Numeric["proc.count"] != 4 {
		t.Errorf("cgroup: %v, %v", s2, err)
	}
}

func TestCollectorErrors(t *testing.T) {
	ctx := context.Background()
	for _, c := range []*Collector{
		{Instance: "i-00000000000000aa"},
		{Instance: "i-00000000000000aa", PID: 1, Cgroup: "/x"},
		{Instance: "i-00000000000000aa", Cgroup: t.TempDir()},
		{Instance: "i-00000000000000aa", PID: 1 << 30},
		{Instance: "bad", PID: os.Getpid()},
	} {
		if s, err := c.Snapshot(ctx); err == nil {
			t.Errorf("%+v: got %v, want an error", c, s)
		}
	}
}
