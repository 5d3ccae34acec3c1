package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
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
	"time"

	imerrors "imgward/errors"
	"imgward/introspect/vmi/vmitest"
	"imgward/snapshot"
)

// snapshotServer is a stand-in for POST /v1/snapshots that keeps what it
// receives.
type snapshotServer struct {
	mu    sync.Mutex
	snaps []snapshot.Snapshot
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
	sc.Buffer(nil, snapshot.MaxLine+1)
	n := 0
	for sc.Scan() {
		snap, err := snapshot.Parse(sc.Bytes(), time.Now())
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":{"message":"line ` + strconv.Itoa(n+1) + `: bad snapshot"}}`))
			return
		}
		s.snaps = append(s.snaps, *snap)
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
	var line snapshot.Snapshot
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
	admin.json(&u, "user", "create", "vmcol", "--project", p["id"].(string), "--role", "collector", "--hosts", "hv1")
	if hosts, _ := u["hosts"].([]any); len(hosts) != 1 || hosts[0] != "hv1" {
		t.Fatalf("collector created with hosts %v, want [hv1]", u["hosts"])
	}
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

// TestCollectLoop checks the loop that every collector runs: a snapshot
// that fails with kind Unavailable is reported and tried again at the next
// period, any other failure ends the command, and an interruption ends it
// without error.
func TestCollectLoop(t *testing.T) {
	snap := &snapshot.Snapshot{InstanceID: "i-00000000000000c3",
		TakenAt: time.Now(), Source: snapshot.SourceProcfs, Numeric: map[string]float64{"proc.count": 1}}
	tests := []struct {
		name    string
		fails   []error // the errors of the first calls, then snapshots
		ends    bool    // the command ends with an error
		reports int     // error lines on stderr
	}{
		{"retries an unavailable source", []error{imerrors.E(imerrors.Unavailable, imerrors.Msg("QEMU did not answer in time"))}, false, 1},
		{"ends on an invalid source", []error{imerrors.E(imerrors.Invalid, imerrors.Msg("not QMP"))}, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var stdout, stderr bytes.Buffer
			e := newEnv(ctx, nil, &stdout, &stderr, func(string) string { return "" })
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			f := addCollectFlags(fs)
			if err := fs.Parse([]string{"--instance", string(snap.InstanceID), "--every", "1ms", "--out", "-"}); err != nil {
				t.Fatal(err)
			}
			calls := 0
			err := e.collect(f, func(context.Context) (*snapshot.Snapshot, error) {
				calls++
				if calls <= len(tt.fails) {
					return nil, tt.fails[calls-1]
				}
				if calls == len(tt.fails)+2 {
					cancel() // after two snapshots
					return nil, imerrors.E(imerrors.Unavailable, ctx.Err())
				}
				return snap, nil
			})
			if (err != nil) != tt.ends {
				t.Fatalf("collect: %v, want an error: %v", err, tt.ends)
			}
			if n := strings.Count(stderr.String(), "error: "); n != tt.reports {
				t.Errorf("%d errors reported, want %d: %s", n, tt.reports, stderr.String())
			}
			if want := map[bool]int{true: 0, false: 1}[tt.ends]; strings.Count(stdout.String(), "\n") != want {
				t.Errorf("%d snapshots written, want %d: %s", strings.Count(stdout.String(), "\n"), want, stdout.String())
			}
		})
	}
}
