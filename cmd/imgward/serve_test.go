package main

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary act as the imgward binary, so that the
// crash test can run the real server as a process and kill it, and the
// interop tests can have skopeo run the key provider, with no second build.
func TestMain(m *testing.M) {
	if os.Getenv("IMGWARD_TEST_AS_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
	}
	os.Exit(m.Run())
}

// serveProcess starts "imgward serve" on dir, with the extra flags, and
// returns it with its URL.
func serveProcess(t *testing.T, dir string, extra ...string) (*exec.Cmd, string) {
	t.Helper()
	args := append([]string{"serve", "--data-dir", dir, "--listen", "127.0.0.1:0", "--log-level", "error"}, extra...)
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "IMGWARD_TEST_AS_MAIN=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "imgward serving on "); ok {
			go io.Copy(io.Discard, out)
			return cmd, u
		}
	}
	t.Fatalf("server did not start: %v", sc.Err())
	return nil, ""
}

type crashClient struct {
	t        *testing.T
	url, tok string
}

func (c *crashClient) do(method, path, ctype string, body io.Reader, want int) []byte {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.url+path, body)
	req.Header.Set("X-Auth-Token", c.tok)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		c.t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
	return b
}

// killDuringUpload starts an upload of image id, and once the server has
// it saving, kills the server with SIGKILL and breaks the upload off.
func (c *crashClient) killDuringUpload(srv *exec.Cmd, id string) {
	c.t.Helper()
	pr, pw := io.Pipe()
	go func() {
		req, _ := http.NewRequest("PUT", c.url+"/v2/images/"+id+"/file", pr)
		req.Header.Set("X-Auth-Token", c.tok)
		req.Header.Set("Content-Type", "application/octet-stream")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	pw.Write(bytes.Repeat([]byte("x"), 1<<20))
	for c.image(id)["status"] != "saving" {
		time.Sleep(10 * time.Millisecond)
	}
	if err := srv.Process.Signal(syscall.SIGKILL); err != nil {
		c.t.Fatal(err)
	}
	srv.Wait()
	pw.CloseWithError(io.ErrUnexpectedEOF)
}

func (c *crashClient) image(id string) map[string]any {
	var m map[string]any
	json.Unmarshal(c.do("GET", "/v2/images/"+id, "", nil, 200), &m)
	return m
}

// TestServeSurvivesKill checks that what the server acknowledged survives
// kill -9, and that an upload cut by the crash leaves its image queued.
func TestServeSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the server as a process")
	}
	dir := t.TempDir()
	srv, url := serveProcess(t, dir)
	tok, err := os.ReadFile(filepath.Join(dir, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "admin.token")); fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin.token mode %v", fi.Mode().Perm())
	}
	c := &crashClient{t: t, url: url, tok: strings.TrimSpace(string(tok))}
	newImage := func() string {
		var img struct{ ID string }
		json.Unmarshal(c.do("POST", "/v2/images", "application/json", strings.NewReader(`{"name":"d","disk_format":"raw","container_format":"bare"}`), 201), &img)
		return img.ID
	}
	done, cut := newImage(), newImage()
	data := bytes.Repeat([]byte("durable "), 200_000)
	c.do("PUT", "/v2/images/"+done+"/file", "application/octet-stream", bytes.NewReader(data), 204)

	// An upload that is in flight when the server dies.
	c.killDuringUpload(srv, cut)

	_, c.url = serveProcess(t, dir)
	got := c.image(done)
	sum := md5.Sum(data)
	if got["status"] != "active" || got["checksum"] != hex.EncodeToString(sum[:]) {
		t.Fatalf("acknowledged upload after kill -9: %v", got)
	}
	if b := c.do("GET", "/v2/images/"+done+"/file", "", nil, 200); !bytes.Equal(b, data) {
		t.Fatal("acknowledged data changed after kill -9")
	}
	if got := c.image(cut); got["status"] != "queued" || got["size"] != nil {
		t.Fatalf("interrupted upload after restart: %v", got)
	}
	c.do("GET", "/v2/images/"+cut+"/file", "", nil, 204)
	c.do("PUT", "/v2/images/"+cut+"/file", "application/octet-stream", strings.NewReader("again"), 204)
	var out, errb bytes.Buffer
	env := func(k string) string {
		return map[string]string{"IMGWARD_URL": c.url, "IMGWARD_TOKEN": c.tok}[k]
	}
	if code := run([]string{"audit", "verify"}, nil, &out, &errb, env); code != 0 {
		t.Fatalf("audit verify after restart: %d %s", code, errb.String())
	}
}
