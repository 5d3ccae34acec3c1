package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"imgward/introspect"
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
