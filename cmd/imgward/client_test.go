package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeServer serves h and returns the environment that points at it.
func fakeServer(t *testing.T, h http.HandlerFunc) map[string]string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return map[string]string{"IMGWARD_URL": srv.URL, "IMGWARD_TOKEN": "tok"}
}

func glanceError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"error":{"code":%d,"title":%q,"message":%q}}`, code, http.StatusText(code), msg)
}

func TestServerErrors(t *testing.T) {
	tests := []struct {
		status int
		body   string
		token  string
		code   int
		stderr string
	}{
		{404, "", "tok", exitNotFound, "error: no such thing\n"},
		{401, "", "", exitPermission, "hint: IMGWARD_TOKEN is not set"},
		{401, "", "tok", exitPermission, "hint: set IMGWARD_TOKEN to a valid token"},
		{403, "", "tok", exitPermission, "error: no such thing\n"},
		{409, "", "tok", exitConflict, "error: no such thing\n"},
		{400, "", "tok", exitError, "error: no such thing\n"},
		{502, "<html>Bad \x1b[2J gateway</html>", "tok", exitError, "error: 502 Bad Gateway: <html>Bad ?[2J gateway</html>\n"},
		{302, "", "tok", exitError, "the server redirected to /elsewhere"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			env := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
				if got := r.Header.Get("X-Auth-Token"); got != tt.token {
					t.Errorf("X-Auth-Token %q, want %q", got, tt.token)
				}
				switch {
				case tt.status == 302:
					http.Redirect(w, r, "/elsewhere", 302)
				case tt.body != "":
					w.WriteHeader(tt.status)
					fmt.Fprint(w, tt.body)
				default:
					glanceError(w, tt.status, "no such thing")
				}
			})
			env["IMGWARD_TOKEN"] = tt.token
			_, stderr, code := runCLI(t, env, nil, "project", "list")
			if code != tt.code || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, tt.code, tt.stderr)
			}
		})
	}
}

func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "http://" + ln.Addr().String()
	ln.Close()
	_, stderr, code := runCLI(t, map[string]string{"IMGWARD_URL": addr}, nil, "image", "list")
	if code != exitError || !strings.Contains(stderr, "hint: is imgward serve running at "+addr) {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	for _, bad := range []string{"127.0.0.1:7480", "ftp://x", "http://", "http://x/?q=1"} {
		_, stderr, code := runCLI(t, map[string]string{"IMGWARD_URL": bad}, nil, "image", "list")
		if code != exitUsage || !strings.Contains(stderr, "IMGWARD_URL") {
			t.Errorf("IMGWARD_URL=%s: exit %d, stderr %q", bad, code, stderr)
		}
	}
}

// TestListPages follows next links through a server mounted under a path
// prefix, and refuses links that loop or leave the server.
func TestListPages(t *testing.T) {
	next := map[string]string{
		"":                 "/v2/images?limit=1&marker=a",
		"limit=1&marker=a": "/v2/images?limit=1&marker=b",
		"limit=1&marker=b": "",
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/v2/images", func(w http.ResponseWriter, r *http.Request) {
		n, ok := next[r.URL.RawQuery]
		if !ok {
			glanceError(w, 400, "bad query "+r.URL.RawQuery)
			return
		}
		body := fmt.Sprintf(`{"images":[{"id":%q,"name":"n","size":null}]`, r.URL.RawQuery)
		if n != "" {
			body += fmt.Sprintf(`,"next":%q`, n)
		}
		fmt.Fprint(w, body+"}")
	})
	srv := httptest.NewServer(http.StripPrefix("/glance", mux))
	defer srv.Close()
	env := map[string]string{"IMGWARD_URL": srv.URL + "/glance/"}
	stdout, stderr, code := runCLI(t, env, nil, "image", "list")
	if code != 0 || strings.Count(stdout, "\n") != 4 || !strings.Contains(stdout, "limit=1&marker=b") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr: %s", code, stdout, stderr)
	}

	next["limit=1&marker=b"] = "/v2/images?limit=1&marker=a"
	if _, stderr, code := runCLI(t, env, nil, "image", "list"); code != exitError || !strings.Contains(stderr, "loop") {
		t.Errorf("looping pages: exit %d, stderr %q", code, stderr)
	}
	next["limit=1&marker=b"] = "http://evil.example/v2/images"
	if _, stderr, code := runCLI(t, env, nil, "image", "list"); code != exitError || !strings.Contains(stderr, "another origin") {
		t.Errorf("foreign next: exit %d, stderr %q", code, stderr)
	}
}

func TestDownloadChecks(t *testing.T) {
	const id = "6b1b4d84-5e87-4a3f-8f5c-6f0f1f6c2a10"
	var md5, body string
	env := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		if body == "" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Content-MD5", md5)
		fmt.Fprint(w, body)
	})
	dir := t.TempDir()
	out := filepath.Join(dir, "disk.img")

	body, md5 = "hello", "5d41402abc4b2a76b9719d911017c592"
	if _, stderr, code := runCLI(t, env, nil, "image", "download", id, "--out", out); code != 0 {
		t.Fatalf("download: exit %d: %s", code, stderr)
	}
	if b, err := os.ReadFile(out); err != nil || string(b) != "hello" {
		t.Fatalf("downloaded %q, %v", b, err)
	}
	os.Remove(out)

	md5 = "00000000000000000000000000000000"
	_, stderr, code := runCLI(t, env, nil, "image", "download", id, "--out", out)
	if code != exitError || !strings.Contains(stderr, "do not match") {
		t.Errorf("bad checksum: exit %d, stderr %q", code, stderr)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("a failed download left %v", ents)
	}

	body = ""
	_, stderr, code = runCLI(t, env, nil, "image", "download", id)
	if code != exitError || !strings.Contains(stderr, "has no data\nhint: upload it first") {
		t.Errorf("no data: exit %d, stderr %q", code, stderr)
	}
}
