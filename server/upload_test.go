package server_test

import (
	"bufio"
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"imgward/api"
	"imgward/server"
	"imgward/store/storetest"
)

// TestStalledUploadFreesRotation is issue 11's tenant attack: a protected
// upload held open without sending its body kept POST /v1/keys/rotate
// {"retire_below":true} at 409 for as long as the tenant liked. Now the
// body must keep a minimum rate: the stalled upload ends within the
// configured window, the image is queued again, and the rotation retires.
func TestStalledUploadFreesRotation(t *testing.T) {
	stalledUpload(t, newCloudWith(t, func(cfg *server.Config) { cfg.Upload = stallLimits }))
}

// TestStalledUploadFreesRotationPostgres is the same on the store of
// several nodes.
func TestStalledUploadFreesRotationPostgres(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	stalledUpload(t, newCloudWith(t, func(cfg *server.Config) {
		cfg.Store, cfg.DSN, cfg.Upload = "postgres", dsn, stallLimits
	}))
}

// stallLimits want 1 KiB every 500 ms.
var stallLimits = api.UploadLimits{MinRate: 2 << 10, Window: 500 * time.Millisecond, Timeout: -1}

func stalledUpload(t *testing.T, c *cloud) {
	_, aliceTok := c.tenant("alice")
	x := c.create(aliceTok, map[string]any{"imgward_protect": "full"})
	up := startUpload(t, c, aliceTok, x, 1<<20)
	up.send(bytes.Repeat([]byte("x"), 8<<10)) // then nothing
	c.waitStatus(aliceTok, x, "saving")

	r := c.do("POST", "/v1/keys/rotate", c.admin, map[string]bool{"retire_below": true})
	if r.code != 409 || !strings.Contains(r.message(), "protected upload is in progress") {
		t.Fatalf("rotate with retire during the upload: %d %s", r.code, r.body)
	}
	stalled := time.Now()
	code, msg := up.response()
	// Generous: it proves the stall ends by itself, not how promptly a
	// loaded machine gets to it.
	if took := time.Since(stalled); took > stallLimits.Window+15*time.Second {
		t.Errorf("the stalled upload ended after %s, window %s", took, stallLimits.Window)
	}
	if code != 400 || !strings.Contains(msg, "upload too slow") {
		t.Errorf("stalled upload answered %d %q, want 400 upload too slow", code, msg)
	}
	c.waitStatus(aliceTok, x, "queued")
	var audited bool
	for _, e := range auditEntries(t, c) {
		audited = audited || e.Action == "image.upload" && strings.HasPrefix(e.Reason, "failed: upload too slow")
	}
	if !audited {
		t.Error("the ended upload is not audited with its reason")
	}
	var rot struct{ Retired []uint32 }
	c.call("POST", "/v1/keys/rotate", c.admin, map[string]bool{"retire_below": true}, 200, &rot)
	if len(rot.Retired) == 0 {
		t.Errorf("rotation after the stall retired nothing: %+v", rot)
	}
	// The image takes a proper upload, at any speed above the minimum.
	c.call("PUT", "/v2/images/"+x+"/file", aliceTok, bytes.Repeat([]byte("y"), 64<<10), 204, nil)
}

// TestBrokenProtectedUpload: a protected upload cut mid-body answers as a
// plain one does, 400, and logs no key service error (it made the tenant
// able to fake a KMS outage).
func TestBrokenProtectedUpload(t *testing.T) {
	var logs syncBuffer
	c := newCloudWith(t, func(cfg *server.Config) {
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	_, aliceTok := c.tenant("alice")
	data := tarOf(t, append(rootfs(6, 100), secrets...), c.clock())
	if len(data) < 1<<20 {
		t.Fatalf("the tar has %d bytes, want more than the 1 MiB announced", len(data))
	}
	for _, mode := range []string{"none", "full", "sensitive"} {
		for _, sent := range []int{0, 100, 70 << 10} { // before, within and after the first peek
			x := c.create(aliceTok, map[string]any{"imgward_protect": mode})
			up := startUpload(t, c, aliceTok, x, 1<<20)
			up.send(data[:sent])
			up.conn.(*net.TCPConn).CloseWrite() // cut: the body ends early
			code, msg := up.response()
			if code != 400 || !strings.Contains(msg, "upload broke off") {
				t.Errorf("%s upload cut after %d bytes: %d %q, want 400 upload broke off", mode, sent, code, msg)
			}
			c.waitStatus(aliceTok, x, "queued")
		}
	}
	for _, bad := range []string{"key service", "level=ERROR"} {
		if strings.Contains(logs.String(), bad) {
			t.Errorf("log of cut uploads has %q:\n%s", bad, logs.String())
		}
	}
}

// upload is a PUT of image data over a connection of its own, so that the
// test decides when the body stalls or ends.
type upload struct {
	t    *testing.T
	conn net.Conn
}

func startUpload(t *testing.T, c *cloud, token, id string, length int) *upload {
	t.Helper()
	u, _ := url.Parse(c.url)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	head := "PUT /v2/images/" + id + "/file HTTP/1.1\r\nHost: " + u.Host + "\r\nX-Auth-Token: " + token +
		"\r\nContent-Type: application/octet-stream\r\nContent-Length: " + strconv.Itoa(length) + "\r\n\r\n"
	up := &upload{t: t, conn: conn}
	up.send([]byte(head))
	return up
}

func (u *upload) send(b []byte) {
	u.t.Helper()
	if _, err := u.conn.Write(b); err != nil {
		u.t.Fatal(err)
	}
}

// response reads the answer, giving up after ten seconds.
func (u *upload) response() (int, string) {
	u.t.Helper()
	u.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(u.conn), nil)
	if err != nil {
		u.t.Fatalf("no response: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, (&response{body: body}).message()
}

// waitStatus waits until image id has status want.
func (c *cloud) waitStatus(token, id, want string) {
	c.t.Helper()
	var img struct{ Status string }
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		c.call("GET", "/v2/images/"+id, token, nil, 200, &img)
		if img.Status == want {
			return
		}
	}
	c.t.Fatalf("image %s is %s, want %s", id, img.Status, want)
}

// syncBuffer is a bytes.Buffer for a logger written from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
