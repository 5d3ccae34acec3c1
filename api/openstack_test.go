package api_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"imgward/keystone"
	"imgward/server"
)

// The tests of this file drive imgward with the OpenStack clients Debian
// ships (python3-glanceclient, python3-openstackclient,
// python3-openstacksdk), each as an ordinary user: behind a real Keystone
// (scripts/keystone-test-server.sh), and with imgward's own tokens. Under
// CI=true a missing client or Keystone fails them; elsewhere it skips them.

func need(t *testing.T, what string, ok bool) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is missing (scripts/test-deps.sh, scripts/keystone-test-server.sh)", what)
	}
	t.Skipf("%s is missing", what)
}

func needClients(t *testing.T) {
	for _, c := range []string{"openstack", "glance", "/usr/bin/python3"} {
		_, err := exec.LookPath(c)
		need(t, c, err == nil)
	}
	_, err := os.Stat("/usr/lib/python3/dist-packages/openstack")
	need(t, "python3-openstacksdk", err == nil)
}

// client runs the OpenStack clients with an environment of its own.
type client struct {
	t   *testing.T
	env []string
}

func (c client) run(args ...string) string {
	c.t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OS_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, c.env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		c.t.Fatalf("%s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return strings.TrimSpace(string(out))
}

func imageFile(t *testing.T) (string, []byte) {
	data := make([]byte, 300_000)
	rand.Read(data)
	path := filepath.Join(t.TempDir(), "disk.raw")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, data
}

func sameFile(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("%s differs from the upload (%v)", path, err)
	}
}

// launch launches an instance of image through imgward's own API.
func launch(t *testing.T, url, token, image string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url+"/v1/instances", strings.NewReader(`{"image_id":"`+image+`"}`))
	req.Header.Set("X-Auth-Token", token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != 201 {
		t.Fatalf("launch: %d %s", resp.StatusCode, b)
	}
}

// glanceSh runs glance with stdin closed, since glance reads image data
// from a stdin that is open and not a terminal, and without
// openstackclient's admin_token variables, which it does not know.
const glanceSh = `exec 0<&-; unset OS_AUTH_TYPE OS_TOKEN OS_ENDPOINT; exec glance `

var glanceID = regexp.MustCompile(`(?m)^\|\s*id\s*\|\s*(\S+)`)

// TestOpenStackClientsKeystone runs the three clients against imgward
// behind a real Keystone, where imgward is the catalog's image service.
func TestOpenStackClientsKeystone(t *testing.T) {
	needClients(t)
	ksURL, port, pw := os.Getenv("IMGWARD_TEST_KEYSTONE_URL"), os.Getenv("IMGWARD_TEST_KEYSTONE_IMAGE_PORT"), os.Getenv("IMGWARD_TEST_KEYSTONE_PASSWORD")
	need(t, "a Keystone (IMGWARD_TEST_KEYSTONE_URL)", ksURL != "" && port != "" && pw != "")

	svc, err := server.Open(t.Context(), server.Config{DataDir: t.TempDir(), Store: "sqlite",
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		Keystone: &keystone.Config{URL: ksURL, Username: "imgward", Password: pw, ProjectName: "service"}})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:"+port) // the catalog's image endpoint
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(svc.Handler)
	ts.Listener.Close()
	ts.Listener = ln
	ts.Start()
	defer ts.Close()

	as := func(user string) client {
		return client{t, []string{"OS_AUTH_URL=" + ksURL, "OS_IDENTITY_API_VERSION=3", "OS_USERNAME=" + user,
			"OS_PASSWORD=" + pw, "OS_PROJECT_NAME=" + user, "OS_USER_DOMAIN_NAME=Default",
			"OS_PROJECT_DOMAIN_NAME=Default", "OS_REGION_NAME=RegionOne"}}
	}
	alice, bob := as("alice"), as("bob")
	bobProject := bob.run("openstack", "token", "issue", "-f", "value", "-c", "project_id")
	path, data := imageFile(t)
	dl := filepath.Join(t.TempDir(), "dl")

	t.Run("openstack", func(t *testing.T) {
		alice.t, bob.t = t, t
		id := alice.run("openstack", "image", "create", "--disk-format", "raw", "--container-format", "bare",
			"--file", path, "--tag", "t1", "--property", "os_distro=debian", "os-b", "-f", "value", "-c", "id")
		alice.run("openstack", "image", "create", "os-a", "-f", "value", "-c", "id")
		if got := alice.run("openstack", "image", "list", "--sort", "name:asc", "-f", "value", "-c", "Name"); got != "os-a\nos-b" {
			t.Errorf("sorted list %q", got)
		}
		if got := alice.run("openstack", "image", "list", "--tag", "t1", "-f", "value", "-c", "ID"); got != id {
			t.Errorf("tag filter %q, want %s", got, id)
		}
		alice.run("openstack", "image", "set", "--name", "os-c", "--min-disk", "2", "--tag", "t2", id)
		alice.run("openstack", "image", "unset", "--tag", "t1", id)
		var show struct {
			Name    string
			MinDisk int `json:"min_disk"`
			Tags    []string
			Status  string
		}
		json.Unmarshal([]byte(alice.run("openstack", "image", "show", id, "-f", "json")), &show)
		if show.Name != "os-c" || show.MinDisk != 2 || len(show.Tags) != 1 || show.Tags[0] != "t2" || show.Status != "active" {
			t.Errorf("after set: %+v", show)
		}
		alice.run("openstack", "image", "save", "--file", dl, id)
		sameFile(t, dl, data)
		alice.run("openstack", "image", "add", "project", id, bobProject)
		bob.run("openstack", "image", "set", "--accept", id)
		if got := alice.run("openstack", "image", "member", "list", id, "-f", "value", "-c", "Member ID", "-c", "Status"); got != bobProject+" accepted" {
			t.Errorf("members %q", got)
		}
		bob.run("openstack", "image", "save", "--file", dl, id)
		sameFile(t, dl, data)
		launch(t, ts.URL, bob.run("openstack", "token", "issue", "-f", "value", "-c", "id"), id)
		alice.run("openstack", "image", "remove", "project", id, bobProject)
		alice.run("openstack", "image", "delete", id, alice.run("openstack", "image", "list", "--name", "os-a", "-f", "value", "-c", "ID"))
		if got := alice.run("openstack", "image", "list", "-f", "value", "-c", "ID"); got != "" {
			t.Errorf("after delete: %q", got)
		}
	})
	t.Run("glance", func(t *testing.T) {
		alice.t, bob.t = t, t
		runGlance(t, alice, bob, nil, bobProject, path, data, func(id string) {
			launch(t, ts.URL, bob.run("openstack", "token", "issue", "-f", "value", "-c", "id"), id)
		})
	})
	t.Run("sdk", func(t *testing.T) {
		alice.t = t
		checkSDK(t, alice.run("/usr/bin/python3", "testdata/openstack_sdk.py", "keystone", ksURL, pw, path), bobProject)
	})
}

// runGlance drives the glance CLI; args go before each command.
func runGlance(t *testing.T, alice, bob client, args []string, bobProject, path string, data []byte, launchAsBob func(string)) {
	g := func(c client, rest ...string) string {
		return c.run(append(append([]string{"sh", "-c", glanceSh + `"$@"`, "glance"}, args...), rest...)...)
	}
	m := glanceID.FindStringSubmatch(g(alice, "image-create", "--name", "gl-b", "--disk-format", "raw",
		"--container-format", "bare", "--file", path))
	if m == nil {
		t.Fatal("no id in glance image-create's output")
	}
	id := m[1]
	g(alice, "image-create", "--name", "gl-a")
	g(alice, "image-update", "--name", "gl-c", "--min-disk", "4", id)
	g(alice, "image-tag-update", id, "g1")
	g(alice, "image-tag-update", id, "g2")
	g(alice, "image-tag-delete", id, "g1")
	if out := g(alice, "image-show", id); !strings.Contains(out, "gl-c") || !regexp.MustCompile(`\|\s*tags\s*\|\s*\["g2"\]\s*\|`).MatchString(out) {
		t.Errorf("image-show:\n%s", out)
	}
	list := g(alice, "image-list", "--sort-key", "name", "--sort-dir", "asc")
	if a, c := strings.Index(list, "gl-a"), strings.Index(list, "gl-c"); a < 0 || c < a {
		t.Errorf("sorted image-list:\n%s", list)
	}
	if list := g(alice, "image-list", "--tag", "g2"); !strings.Contains(list, id) || strings.Contains(list, "gl-a") {
		t.Errorf("image-list --tag g2:\n%s", list)
	}
	dl := filepath.Join(t.TempDir(), "dl")
	g(alice, "image-download", "--file", dl, id)
	sameFile(t, dl, data)
	g(alice, "member-create", id, bobProject)
	g(bob, "member-update", id, bobProject, "accepted")
	if out := g(alice, "member-list", "--image-id", id); !strings.Contains(out, bobProject) || !strings.Contains(out, "accepted") {
		t.Errorf("member-list:\n%s", out)
	}
	g(bob, "image-download", "--file", dl, id)
	sameFile(t, dl, data)
	launchAsBob(id)
	g(alice, "member-delete", id, bobProject)
	for _, line := range strings.Split(g(alice, "image-list"), "\n") {
		if f := strings.Fields(line); len(f) > 1 && len(f[1]) == 36 {
			g(alice, "image-delete", f[1])
		}
	}
	if list := g(alice, "image-list"); strings.Contains(list, "gl-") {
		t.Errorf("after delete:\n%s", list)
	}
}

// checkSDK checks the report of testdata/openstack_sdk.py.
func checkSDK(t *testing.T, out, member string) {
	var r struct {
		Status                     string
		Size                       int
		Sorted, Tagged, Tags, Left []string
		Name                       string
		MinDisk                    int  `json:"min_disk"`
		OwnerDownload              bool `json:"owner_download"`
		MemberDownload             bool `json:"member_download"`
		Members                    [][2]string
		AfterRemove                []string `json:"after_remove"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("sdk script output %q: %v", out, err)
	}
	ok := r.Status == "active" && r.Size == 300_000 && strings.Join(r.Sorted, ",") == "sdk-0,sdk-1" &&
		strings.Join(r.Tagged, ",") == "sdk-1" && r.Name == "sdk-one" && r.MinDisk == 3 &&
		strings.Join(r.Tags, ",") == "extra" && r.OwnerDownload && r.MemberDownload &&
		len(r.Members) == 1 && r.Members[0] == [2]string{member, "accepted"} && len(r.AfterRemove) == 0 && len(r.Left) == 0
	if !ok {
		t.Errorf("sdk saw %s", out)
	}
}

// TestOpenStackClientsOwnTokens runs the three clients with imgward's own
// tokens, no Keystone, and the endpoint given without /v2. A member
// accepts with glance member-update, and the owner removes it with glance
// member-delete: openstack image set --accept and image remove project need
// Keystone to know the caller's project and to look the member up.
func TestOpenStackClientsOwnTokens(t *testing.T) {
	needClients(t)
	e := newEnvWith(t, func(*server.Config) {})
	a, b := e.tenant("alice"), e.tenant("bob")
	as := func(token string) client {
		return client{t, []string{"OS_AUTH_TYPE=admin_token", "OS_ENDPOINT=" + e.url, "OS_TOKEN=" + token,
			"OS_IMAGE_URL=" + e.url, "OS_AUTH_TOKEN=" + token}}
	}
	alice, bob := as(a.token), as(b.token)
	path, data := imageFile(t)
	dl := filepath.Join(t.TempDir(), "dl")

	t.Run("openstack", func(t *testing.T) {
		alice.t, bob.t = t, t
		id := alice.run("openstack", "image", "create", "--disk-format", "raw", "--container-format", "bare",
			"--file", path, "--tag", "t1", "os-b", "-f", "value", "-c", "id")
		alice.run("openstack", "image", "create", "os-a", "-f", "value", "-c", "id")
		if got := alice.run("openstack", "image", "list", "--sort", "name:desc", "-f", "value", "-c", "Name"); got != "os-b\nos-a" {
			t.Errorf("sorted list %q", got)
		}
		alice.run("openstack", "image", "set", "--tag", "t2", id)
		alice.run("openstack", "image", "unset", "--tag", "t1", id)
		if got := alice.run("openstack", "image", "list", "--tag", "t2", "-f", "value", "-c", "ID"); got != id {
			t.Errorf("tag filter %q, want %s", got, id)
		}
		alice.run("openstack", "image", "save", "--file", dl, id)
		sameFile(t, dl, data)
		alice.run("openstack", "image", "add", "project", id, b.project)
		bob.run("sh", "-c", glanceSh+`member-update "$0" "$1" accepted`, id, b.project)
		bob.run("openstack", "image", "save", "--file", dl, id)
		sameFile(t, dl, data)
		launch(t, e.url, b.token, id)
		// openstack image remove project looks the project up in Keystone.
		alice.run("sh", "-c", glanceSh+`member-delete "$0" "$1"`, id, b.project)
		alice.run("openstack", "image", "delete", id, alice.run("openstack", "image", "list", "--name", "os-a", "-f", "value", "-c", "ID"))
	})
	t.Run("glance", func(t *testing.T) {
		alice.t, bob.t = t, t
		runGlance(t, alice, bob, nil, b.project, path, data, func(id string) { launch(t, e.url, b.token, id) })
	})
	t.Run("sdk", func(t *testing.T) {
		alice.t = t
		checkSDK(t, alice.run("/usr/bin/python3", "testdata/openstack_sdk.py", "token", e.url, a.token, b.token, b.project, path), b.project)
	})
}
