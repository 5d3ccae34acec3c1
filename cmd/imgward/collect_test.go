package main

import (
	"bufio"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"imgward/introspect"
	"imgward/introspect/vmi/vmitest"
)

// snapshotServer is a stand-in for POST /v1/snapshots that keeps what it
// receives.
type snapshotServer struct {
	mu    sync.Mutex
	snaps []introspect.Snapshot
}

func (s *snapshotServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/snapshots" || r.Header.Get("X-Auth-Token") != "collector-token" {
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"error":{"title":"Unauthorized","message":"bad token"}}`))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sc := bufio.NewScanner(r.Body)
	sc.Buffer(nil, introspect.MaxLineBytes+1)
	n := 0
	for sc.Scan() {
		var snap introspect.Snapshot
		if err := json.Unmarshal(sc.Bytes(), &snap); err != nil || snap.Validate() != nil {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":{"message":"line ` + strconv.Itoa(n+1) + `: bad snapshot"}}`))
			return
		}
		s.snaps = append(s.snaps, snap)
		n++
	}
	json.NewEncoder(w).Encode(map[string]int{"accepted": n})
}

func newSnapshotServer(t *testing.T) (*snapshotServer, map[string]string) {
	s := &snapshotServer{}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, map[string]string{"IMGWARD_URL": srv.URL, "IMGWARD_TOKEN": "collector-token"}
}

func TestCollectProcfs(t *testing.T) {
	s, env := newSnapshotServer(t)
	pid := strconv.Itoa(os.Getpid())
	_, stderr, code := runCLI(t, env, nil, "collect", "procfs", "--instance", "i-00000000000000c1", "--pid", pid, "--once")
	if code != exitOK || len(s.snaps) != 1 {
		t.Fatalf("exit %d, %d snapshots: %s", code, len(s.snaps), stderr)
	}
	got := s.snaps[0]
	if got.Source != "procfs" || got.InstanceID != "i-00000000000000c1" || got.Numeric["proc.count"] < 1 || len(got.Sets["proc.exes"]) == 0 {
		t.Errorf("snapshot %+v", got)
	}
	env["IMGWARD_TOKEN"] = "wrong"
	_, stderr, code = runCLI(t, env, nil, "collect", "procfs", "--instance", "i-00000000000000c1", "--pid", pid, "--once")
	if code != exitPermission || !strings.Contains(stderr, "bad token") || !strings.Contains(stderr, "hint:") {
		t.Errorf("bad token: exit %d: %s", code, stderr)
	}
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--pid", pid}, exitUsage, "--instance is required"},
		{[]string{"--instance", "i-00000000000000c1"}, exitUsage, "give one of"},
		{[]string{"--instance", "i-00000000000000c1", "--pid", "1", "--cgroup", "/x"}, exitUsage, "give one of"},
		{[]string{"--instance", "x", "--pid", pid, "--out", "-"}, exitUsage, "instance_id"},
		{[]string{"--instance", "i-00000000000000c1", "--pid", "2147483647", "--out", "-"}, exitNotFound, "no process"},
	} {
		_, stderr, code := runCLI(t, env, nil, append([]string{"collect", "procfs", "--once"}, tc.args...)...)
		if code != tc.code || !strings.Contains(stderr, tc.msg) {
			t.Errorf("%q: exit %d, want %d with %q: %s", tc.args, code, tc.code, tc.msg, stderr)
		}
	}
}

func TestCollectVMI(t *testing.T) {
	q := vmitest.Start(t)
	s, env := newSnapshotServer(t)
	_, stderr, code := runCLI(t, env, nil, "collect", "vmi", "--instance", "i-00000000000000c2", "--qmp", q.Socket, "--once")
	if code != exitOK || len(s.snaps) != 1 {
		t.Fatalf("exit %d, %d snapshots: %s", code, len(s.snaps), stderr)
	}
	got := s.snaps[0]
	if got.Source != "vmi" || got.InstanceID != "i-00000000000000c2" || got.Numeric["vm.vcpus"] != 1 ||
		got.Numeric["host.rss_bytes"] <= 0 || !slices.Equal(got.Sets["block.devices"], []string{"virtio0"}) {
		t.Errorf("snapshot %+v", got)
	}
	stdout, stderr, code := runCLI(t, offline, nil, "collect", "vmi", "--instance", "i-00000000000000c2", "--qmp", q.Socket, "--once", "--out", "-")
	var line introspect.Snapshot
	if code != exitOK || json.Unmarshal([]byte(stdout), &line) != nil || line.Source != "vmi" {
		t.Errorf("--out -: exit %d: %q %s", code, stdout, stderr)
	}

	dir := t.TempDir()
	ln, err := net.Listen("unix", filepath.Join(dir, "ssh.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // a peer that is not QEMU
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("SSH-2.0-OpenSSH_9.2\r\n"))
			c.Close()
		}
	}()
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--qmp", q.Socket}, exitUsage, "--instance is required"},
		{[]string{"--instance", "i-00000000000000c2"}, exitUsage, "--qmp PATH is required"},
		{[]string{"--instance", "i-00000000000000c2", "--qmp", filepath.Join(dir, "none.sock")}, exitNotFound, "no QEMU serves QMP"},
		{[]string{"--instance", "i-00000000000000c2", "--qmp", filepath.Join(dir, "ssh.sock")}, exitUsage, "does not speak QMP"},
	} {
		_, stderr, code := runCLI(t, env, nil, append([]string{"collect", "vmi", "--once", "--out", "-"}, tc.args...)...)
		if code != tc.code || !strings.Contains(stderr, tc.msg) {
			t.Errorf("%q: exit %d, want %d with %q: %s", tc.args, code, tc.code, tc.msg, stderr)
		}
	}
}

// TestCollectVMIServer posts a real QEMU's snapshot to a real server, as a
// collector, and finds it folded into the image's unified state.
func TestCollectVMIServer(t *testing.T) {
	q := vmitest.Start(t)
	url, token := startServer(t)
	admin := user{t, url, token}
	var p, u, img obj
	admin.json(&p, "project", "create", "vmpub")
	admin.json(&u, "user", "create", "vmowner", "--project", p["id"].(string))
	owner := user{t, url, u["token"].(string)}
	admin.json(&u, "user", "create", "vmcol", "--project", p["id"].(string), "--role", "collector")
	collector := user{t, url, u["token"].(string)}
	owner.json(&img, "image", "create", "vm")
	file := filepath.Join(t.TempDir(), "vm.qcow2")
	os.WriteFile(file, []byte("a disk"), 0o600)
	owner.ok("image", "upload", img["id"].(string), file)
	inst := strings.TrimSpace(owner.ok("instance", "launch", img["id"].(string), "--host", "hv1"))

	collector.ok("collect", "vmi", "--instance", inst, "--qmp", q.Socket, "--once")
	var state struct {
		Instances int
		Numeric   []struct {
			Name  string
			Value float64
		}
		Sets []struct{ Name, Dominant string }
	}
	owner.jsonCall(&state, "GET", "/v1/images/"+img["id"].(string)+"/state", nil)
	numeric := map[string]float64{}
	for _, n := range state.Numeric {
		numeric[n.Name] = n.Value
	}
	dominant := map[string]string{}
	for _, s := range state.Sets {
		dominant[s.Name] = s.Dominant
	}
	if state.Instances != 1 || numeric["vm.running"] != 1 || numeric["vm.vcpus"] != 1 || numeric["host.rss_bytes"] <= 0 ||
		dominant["vm.status"] != "running" || dominant["block.devices"] != "virtio0" {
		t.Errorf("state of %d instances: numeric %v, dominant sets %v", state.Instances, numeric, dominant)
	}
}
