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
	for _, bad := range [][]string{{"sim"}, {"sim", "--out", "x", "--url", "http://a"}, {"sim", "--out", "-", "--malicious", "30"}, {"sim", "--out", "-", "--start", "yesterday"}, {"sim", "--out", "-", "--roles", "web,mail"}} {
		if _, _, code := runCLI(t, offline, nil, bad...); code != exitUsage {
			t.Errorf("%q: exit %d, want %d", bad, code, exitUsage)
		}
	}
	if stdout, _, code := runCLI(t, offline, nil, "sim", "--help"); code != exitOK || !strings.Contains(stdout, "cryptominer") {
		t.Errorf("sim --help: exit %d", code)
	}
}

// TestSimURL builds a small simulated cloud on a real server with imgward
// sim, as a user runs it, and finds every simulated instance in the unified
// state of its image and of its publisher, with a parameter of each kind:
// the simulator once sent net.listen as a number and as a set, which ingest
// accepted and the unified state refused.
func TestSimURL(t *testing.T) {
	url, token := startServer(t)
	env := map[string]string{"IMGWARD_TOKEN": token}
	stdout, stderr, code := runCLI(t, env, nil, "sim", "--url", url, "--publishers", "3", "--images", "2", "--instances", "2", "--rounds", "2", "--malicious", "1")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "12 instances, 24 snapshots posted") {
		t.Errorf("stderr %q", stderr)
	}
	var m sim.Manifest
	if err := json.Unmarshal([]byte(stdout), &m); err != nil {
		t.Fatalf("manifest: %v: %s", err, stdout)
	}
	admin := user{t, url, token}
	var insts []obj
	admin.json(&insts, "instance", "list")
	if len(insts) != 12 || len(m.Instances) != 12 {
		t.Fatalf("%d instances on the server, %d in the manifest, want 12", len(insts), len(m.Instances))
	}
	onServer := map[string]bool{}
	for _, in := range insts {
		onServer[in["id"].(string)] = true
	}
	perImage, perPublisher := map[string]int{}, map[string]int{}
	imageID, projectID := map[string]string{}, map[string]string{}
	for _, img := range m.Images {
		imageID[img.Name] = img.ID
	}
	for _, p := range m.Publishers {
		projectID[p.Name] = p.ProjectID
	}
	for _, in := range m.Instances {
		if !onServer[in.ID] {
			t.Errorf("manifest instance %s is not on the server", in.ID)
		}
		perImage[imageID[in.Image]]++
		perPublisher[projectID[in.Publisher]]++
	}
	type state struct {
		Instances int `json:"instances"`
		Numeric   []struct {
			Name     string  `json:"name"`
			Coverage float64 `json:"coverage"`
		} `json:"numeric"`
		Sets []struct {
			Name string `json:"name"`
		} `json:"sets"`
	}
	check := func(path string, want int) {
		t.Helper()
		var st state
		admin.jsonCall(&st, "GET", path, nil)
		if st.Instances != want {
			t.Errorf("%s: %d instances, want %d", path, st.Instances, want)
		}
		num, set := false, false
		for _, p := range st.Numeric {
			num = num || p.Name == "net.listeners" && p.Coverage == 1
		}
		for _, p := range st.Sets {
			set = set || p.Name == "net.listen"
		}
		if !num || !set {
			t.Errorf("%s: number net.listeners over every instance %v, set net.listen %v", path, num, set)
		}
	}
	for id, n := range perImage {
		check("/v1/images/"+id+"/state", n)
	}
	for id, n := range perPublisher {
		check("/v1/publishers/"+id+"/state", n)
	}
	if len(perImage) != 6 || len(perPublisher) != 3 {
		t.Errorf("%d images, %d publishers, want 6 and 3", len(perImage), len(perPublisher))
	}

	// No image has a role yet: detect run lists every instance, and why.
	var rep struct {
		Unscored   int            `json:"unscored"`
		UnscoredBy map[string]int `json:"unscored_by"`
		List       []struct {
			ID     string `json:"instance_id"`
			Reason string `json:"reason"`
		} `json:"unscored_instances"`
	}
	admin.json(&rep, "detect", "run")
	if rep.Unscored != 12 || rep.UnscoredBy["no_role"] != 12 || len(rep.List) != 12 || !onServer[rep.List[0].ID] || rep.List[0].Reason != "no_role" {
		t.Errorf("detect run --output json: %+v", rep)
	}
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
