package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"imgward/introspect/sim"
)

func TestSimOut(t *testing.T) {
	dir := t.TempDir()
	args := []string{"sim", "--seed", "3", "--publishers", "4", "--malicious", "2", "--images", "2", "--instances", "2", "--rounds", "2"}
	var outs [2][]byte
	for i := range outs {
		f := filepath.Join(dir, "snaps"+string(rune('a'+i)))
		if _, stderr, code := runCLI(t, offline, nil, append(args, "--out", f)...); code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		outs[i], _ = os.ReadFile(f)
	}
	if len(outs[0]) == 0 || !bytes.Equal(outs[0], outs[1]) || bytes.Count(outs[0], []byte("\n")) != 4*2*2*2 {
		t.Fatalf("not deterministic, or wrong size: %d and %d bytes", len(outs[0]), len(outs[1]))
	}
	var m sim.Manifest
	b, _ := os.ReadFile(filepath.Join(dir, "snapsa.manifest.json"))
	if err := json.Unmarshal(b, &m); err != nil || len(m.Publishers) != 4 || len(m.Instances) != 16 {
		t.Fatalf("manifest: %v %+v", err, m)
	}
	stdout, _, code := runCLI(t, offline, nil, append(args, "--out", "-", "--manifest", filepath.Join(dir, "m"))...)
	if code != exitOK || stdout != string(outs[0]) {
		t.Errorf("--out -: exit %d", code)
	}
	for _, bad := range [][]string{{"sim"}, {"sim", "--out", "x", "--url", "http://a"}, {"sim", "--out", "-", "--malicious", "30"}, {"sim", "--out", "-", "--start", "yesterday"}} {
		if _, _, code := runCLI(t, offline, nil, bad...); code != exitUsage {
			t.Errorf("%q: exit %d, want %d", bad, code, exitUsage)
		}
	}
	if stdout, _, code := runCLI(t, offline, nil, "sim", "--help"); code != exitOK || !strings.Contains(stdout, "cryptominer") {
		t.Errorf("sim --help: exit %d", code)
	}
}

// TestSimURL builds a small simulated cloud on a real server. The server
// of this branch has no POST /v1/snapshots yet: the projects, images and
// instances must exist either way, and posting must either succeed or fail
// on that route alone.
func TestSimURL(t *testing.T) {
	url, token := startServer(t)
	env := map[string]string{"IMGWARD_TOKEN": token}
	stdout, stderr, code := runCLI(t, env, nil, "sim", "--url", url, "--publishers", "3", "--images", "1", "--instances", "2", "--rounds", "1")
	if code != exitOK && !strings.Contains(stderr, "/v1/snapshots") && !strings.Contains(stderr, "404") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	admin := user{t, url, token}
	var insts []obj
	admin.json(&insts, "instance", "list")
	if len(insts) != 6 {
		t.Errorf("%d instances on the server, want 6", len(insts))
	}
	var imgs []obj
	admin.json(&imgs, "image", "list", "--visibility", "public")
	if len(imgs) != 3 || imgs[0]["sim_role"] == nil {
		t.Errorf("public images: %v", imgs)
	}
	if code == exitOK {
		var m sim.Manifest
		if err := json.Unmarshal([]byte(stdout), &m); err != nil || m.Instances[0].ID != insts[len(insts)-1]["id"] && m.Instances[0].ID != insts[0]["id"] {
			t.Errorf("manifest %v: %s", err, stdout)
		}
	}
	t.Logf("exit %d: %s", code, stderr)
}

func TestReplay(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "d.csv")
	os.WriteFile(csv, []byte("id,label,syscalls\n1,normal,1 2 3 4\n2,attack,5 5 5\n"), 0o600)
	s, env := newSnapshotServer(t)
	stdout, stderr, code := runCLI(t, env, nil, "replay", "--file", csv, "--label-col", "label", "--sequence-col", "syscalls",
		"--instances", "i-00000000000000d1,i-00000000000000d2")
	if code != exitOK || stdout != "posted 2 snapshots\n" || len(s.snaps) != 2 {
		t.Fatalf("exit %d, %q: %s", code, stdout, stderr)
	}
	if g := s.snaps[1]; g.InstanceID != "i-00000000000000d2" || g.Syscalls == nil || len(g.Syscalls.Sequence) != 3 || len(g.Numeric) != 1 || g.Sets["meta.label"][0] != "attack" {
		t.Errorf("snapshot %+v", g)
	}
	out := filepath.Join(dir, "o.ndjson")
	if stdout, stderr, code := runCLI(t, offline, nil, "replay", "--file", csv, "--out", out, "--start", "2026-01-01T00:00:00Z"); code != exitOK || !strings.Contains(stdout, "wrote 2") {
		t.Errorf("--out: exit %d: %s", code, stderr)
	}
	for _, bad := range [][]string{{"replay"}, {"replay", "--file", csv, "--start", "x", "--out", "-"}, {"replay", "--file", csv, "--sequence-col", "nope", "--out", "-"}} {
		if _, stderr, code := runCLI(t, offline, nil, bad...); code == exitOK {
			t.Errorf("%q: exit 0: %s", bad, stderr)
		}
	}
}
