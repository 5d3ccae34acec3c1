package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"imgward/server"
)

// startServer starts the real imgward over HTTP, as imgward serve does,
// with an embedded store in a temporary directory, and returns its URL and
// the first admin's token.
func startServer(t *testing.T) (url, adminToken string) {
	t.Helper()
	svc, url := startService(t)
	return url, svc.AdminToken
}

// startService is startServer for a test that needs the service too.
func startService(t *testing.T) (*server.Service, string) {
	t.Helper()
	ctx := context.Background()
	svc, err := server.Open(ctx, server.Config{
		DataDir: t.TempDir(), Store: "sqlite", Sync: "normal",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(svc.Handler)
	t.Cleanup(func() { srv.Close(); svc.Close() })
	return svc, srv.URL
}

// user runs client commands as one user.
type user struct {
	t     *testing.T
	url   string
	token string
}

// run runs the command and returns its stdout, stderr and exit status.
func (u user) run(stdin io.Reader, args ...string) (string, string, int) {
	u.t.Helper()
	return runCLI(u.t, map[string]string{"IMGWARD_URL": u.url, "IMGWARD_TOKEN": u.token}, stdin, args...)
}

// ok runs the command, fails the test unless it exits 0, and returns its
// stdout.
func (u user) ok(args ...string) string {
	u.t.Helper()
	stdout, stderr, code := u.run(nil, args...)
	if code != 0 {
		u.t.Fatalf("imgward %s: exit %d\nstderr: %s", strings.Join(args, " "), code, stderr)
	}
	return stdout
}

// json runs the command with --output json and decodes its output.
func (u user) json(out any, args ...string) {
	u.t.Helper()
	stdout := u.ok(append(args, "--output", "json")...)
	if err := json.Unmarshal([]byte(stdout), out); err != nil {
		u.t.Fatalf("imgward %s: output is not JSON: %v\n%s", strings.Join(args, " "), err, stdout)
	}
}

// fails runs the command and checks its exit status and that stderr holds
// want.
func (u user) fails(code int, want string, args ...string) {
	u.t.Helper()
	_, stderr, got := u.run(nil, args...)
	if got != code || !strings.Contains(stderr, want) {
		u.t.Errorf("imgward %s: exit %d, stderr %q; want exit %d and %q", strings.Join(args, " "), got, stderr, code, want)
	}
}

type obj = map[string]any

func TestEndToEnd(t *testing.T) {
	url, adminToken := startServer(t)
	admin := user{t, url, adminToken}

	// The admin creates two projects and a user in each.
	var pa, pb, ua, ub obj
	admin.json(&pa, "project", "create", "alice-corp")
	admin.json(&pb, "project", "create", "bob-corp")
	admin.json(&ua, "user", "create", "alice", "--project", pa["id"].(string))
	_, stderr, code := admin.run(nil, "user", "create", "bob", "--project", pb["id"].(string), "--output", "json")
	if code != 0 || !strings.Contains(stderr, "shown only once") {
		t.Fatalf("user create: exit %d, stderr %q", code, stderr)
	}
	admin.json(&ub, "user", "create", "bob2", "--project", pb["id"].(string))
	alice, bob := user{t, url, ua["token"].(string)}, user{t, url, ub["token"].(string)}
	projectB := pb["id"].(string)
	if out := admin.ok("project", "list"); !strings.Contains(out, "alice-corp") || !strings.Contains(out, "bob-corp") {
		t.Errorf("project list:\n%s", out)
	}

	// Alice publishes: a profile, an image with data, shared with Bob.
	alice.ok("publisher", "set", pa["id"].(string), "--display-name", "Alice Corp", "--contact", "sec@alice.example")
	if out := bob.ok("publisher", "show", pa["id"].(string)); !strings.Contains(out, "Alice Corp") {
		t.Errorf("publisher show:\n%s", out)
	}
	var img obj
	alice.json(&img, "image", "create", "cirros", "--property", "os_distro=cirros", "--min-ram", "64")
	id := img["id"].(string)
	if img["visibility"] != "shared" || img["disk_format"] != "qcow2" || img["container_format"] != "bare" || img["os_distro"] != "cirros" {
		t.Errorf("created image %v", img)
	}
	data := make([]byte, 300<<10)
	rand.Read(data)
	file := filepath.Join(t.TempDir(), "cirros.qcow2")
	os.WriteFile(file, data, 0o600)
	if out := alice.ok("image", "upload", id, file); !strings.Contains(out, "active") {
		t.Errorf("upload printed:\n%s", out)
	}
	alice.fails(exitConflict, "error: ", "image", "upload", id, file)
	alice.ok("image", "share", id, projectB)

	// Bob sees the offer pending and may not use the image until he accepts.
	if out := bob.ok("image", "members", id); !strings.Contains(out, projectB) || !strings.Contains(out, "pending") {
		t.Errorf("members:\n%s", out)
	}
	if out := bob.ok("image", "list", "--member-status", "pending"); !strings.Contains(out, id) {
		t.Errorf("pending list:\n%s", out)
	}
	if out := bob.ok("image", "list"); strings.Contains(out, id) {
		t.Errorf("default list shows a pending image:\n%s", out)
	}
	got := filepath.Join(t.TempDir(), "got.img")
	bob.fails(exitPermission, "hint: accept the image first: imgward image accept "+id, "image", "download", id, "--out", got)
	if _, err := os.Stat(got); !os.IsNotExist(err) {
		t.Errorf("a refused download left %s: %v", got, err)
	}
	bob.fails(exitPermission, "hint: accept the image first", "instance", "launch", id)
	bob.ok("image", "accept", id)
	bob.ok("image", "download", id, "--out", got)
	if b, _ := os.ReadFile(got); !bytes.Equal(b, data) {
		t.Errorf("downloaded %d bytes, not the %d uploaded", len(b), len(data))
	}
	if out := bob.ok("image", "download", id); out != string(data) {
		t.Errorf("download to stdout: %d bytes, not the %d uploaded", len(out), len(data))
	}

	// Bob launches, lists, shows and terminates an instance.
	out := bob.ok("instance", "launch", id, "--host", "hv1")
	inst := strings.TrimSuffix(out, "\n")
	if !strings.HasPrefix(inst, "i-") || strings.ContainsAny(inst, " \n") {
		t.Fatalf("instance launch printed %q, want an id alone", out)
	}
	if out := bob.ok("instance", "list", "--image", id); !strings.Contains(out, inst) || !strings.Contains(out, "running") {
		t.Errorf("instance list:\n%s", out)
	}
	var insts []obj
	alice.json(&insts, "instance", "list", "--publisher", pa["id"].(string))
	if len(insts) != 0 {
		t.Errorf("alice sees bob's instances: %v", insts)
	}
	var shown obj
	bob.json(&shown, "instance", "show", inst)
	if shown["state"] != "running" || shown["host"] != "hv1" {
		t.Errorf("instance show: %v", shown)
	}
	bob.json(&shown, "instance", "terminate", inst)
	if shown["state"] != "terminated" {
		t.Errorf("terminated instance: %v", shown)
	}

	// Alice changes the image; JSON output parses.
	var upd obj
	alice.json(&upd, "image", "update", id, "--set", "os_distro=cirros2", "--set", "min_disk=1", "--set", "tags=a,b", "--set", "protected=true")
	if upd["os_distro"] != "cirros2" || upd["min_disk"] != 1.0 || upd["protected"] != true {
		t.Errorf("updated image: %v", upd)
	}
	var unset obj
	alice.json(&unset, "image", "update", id, "--unset", "os_distro")
	if _, ok := unset["os_distro"]; ok || unset["name"] != "cirros" {
		t.Errorf("os_distro not removed: %v", unset)
	}
	bob.fails(exitPermission, "error: ", "image", "update", id, "--set", "name=mine")
	alice.fails(exitPermission, "error: image is protected", "image", "delete", id)
	var list []obj
	alice.json(&list, "image", "list")
	if len(list) != 1 || list[0]["id"] != id {
		t.Errorf("alice's list: %v", list)
	}
	if out := alice.ok("image", "show", id); !strings.Contains(out, "status") || !strings.Contains(out, "active") {
		t.Errorf("image show:\n%s", out)
	}
	alice.ok("image", "unshare", id, projectB)
	bob.fails(exitNotFound, "error: no such image", "image", "show", id)
	bob.fails(exitNotFound, "error: ", "image", "show", "6b1b4d84-5e87-4a3f-8f5c-6f0f1f6c2a10")

	// The audit log holds it all, intact; only an admin may read it.
	if out := admin.ok("audit", "list", "--limit", "5"); strings.Count(out, "\n") != 6 {
		t.Errorf("audit list --limit 5:\n%s", out)
	}
	if out := admin.ok("audit", "verify"); !strings.HasPrefix(out, "audit log intact: ") {
		t.Errorf("audit verify: %q", out)
	}
	bob.fails(exitPermission, "error: ", "audit", "verify")

	// Mistakes: an unknown command, no token, a bad token.
	admin.fails(exitUsage, "unknown command", "imaeg", "list")
	user{t, url, ""}.fails(exitPermission, "hint: IMGWARD_TOKEN is not set", "image", "list")
	user{t, url, "iwt_bogus"}.fails(exitPermission, "hint: set IMGWARD_TOKEN to a valid token", "image", "list")
}

// TestPages lists more images than fit on one of the server's pages.
func TestPages(t *testing.T) {
	url, adminToken := startServer(t)
	admin := user{t, url, adminToken}
	for i := range 27 {
		admin.ok("image", "create", "img"+string(rune('a'+i)), "--visibility", "private")
	}
	var list []obj
	admin.json(&list, "image", "list")
	if len(list) != 27 {
		t.Errorf("listed %d images, want 27", len(list))
	}
}

func TestUploadStdin(t *testing.T) {
	url, adminToken := startServer(t)
	admin := user{t, url, adminToken}
	var img obj
	admin.json(&img, "image", "create", "piped")
	id := img["id"].(string)
	stdout, stderr, code := admin.run(strings.NewReader("some bytes"), "image", "upload", id, "-", "--output", "json")
	if code != 0 {
		t.Fatalf("upload from stdin: exit %d: %s", code, stderr)
	}
	json.Unmarshal([]byte(stdout), &img)
	if img["size"] != 10.0 || img["checksum"] == nil {
		t.Errorf("uploaded image: %v", img)
	}
}

// TestDetectCommands runs the detection commands against a server with
// nothing to judge yet: they answer, and refuse a member.
func TestDetectCommands(t *testing.T) {
	url, token := startServer(t)
	admin := user{t, url, token}
	var p obj
	admin.json(&p, "project", "create", "pub2")
	id, _ := p["id"].(string)
	var u obj
	admin.json(&u, "user", "create", "pubuser", "--project", id)
	member := user{t, url, u["token"].(string)}

	var built obj
	admin.json(&built, "baseline", "build")
	if b, _ := built["built"].([]any); len(b) != 0 {
		t.Errorf("baseline build with no roles built %v", b)
	}
	var list []any
	admin.json(&list, "baseline", "list")
	admin.json(&list, "publisher", "list", "--risk")
	if len(list) != 0 {
		t.Errorf("publisher list --risk before any run: %v", list)
	}
	var rep obj
	admin.json(&rep, "detect", "run")
	if rep["scored"] != float64(0) {
		t.Errorf("detect run: %v", rep)
	}
	admin.json(&u, "publisher", "trust", id)
	if u["trusted"] != true {
		t.Errorf("publisher trust: %v", u)
	}
	admin.json(&u, "publisher", "untrust", id)
	if u["trusted"] != false {
		t.Errorf("publisher untrust: %v", u)
	}
	stdout, stderr, code := admin.run(nil, "baseline", "build")
	if code != 0 || stdout != "no image has a role: nothing to learn\n" || !strings.Contains(stderr, "hint: give images a role") {
		t.Errorf("baseline build with no roles: exit %d, %q, %q", code, stdout, stderr)
	}
	var events []obj
	member.json(&events, "event", "list")
	if len(events) != 0 {
		t.Errorf("events before any run: %v", events)
	}
	admin.fails(5, "not flagged", "publisher", "clear", id)
	admin.fails(5, "not flagged", "flag", "clear", id)
	admin.fails(3, "no such image", "image", "role", "00000000-0000-4000-8000-000000000000", "web")
	admin.fails(2, "missing ROLE", "image", "role", "x")
	admin.fails(2, "--kind frob", "flag", "list", "--kind", "frob")
	admin.fails(2, "--limit 1 to 1000", "event", "list", "--limit", "1001")
	member.fails(4, "admin role", "publisher", "list", "--risk")
	member.fails(4, "admin role", "baseline", "build")
	member.fails(4, "admin role", "flag", "list")
	member.fails(4, "admin role", "image", "role", "00000000-0000-4000-8000-000000000000", "web")
	member.fails(4, "admin role", "publisher", "trust", id)
	admin.fails(2, "needs --risk", "publisher", "list")
}
