package api_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"imgward/api"
	"imgward/server"
)

// TestUploadLimits checks the pacing of upload bodies over real HTTP: a
// trickle below the minimum rate and a body over the time limit end with
// 400 and the reason, the image queued again; a body at a rate above the
// minimum, however long it takes, goes through.
func TestUploadLimits(t *testing.T) {
	// The window is wide enough that a sender paused by a loaded machine
	// (a second's stall) does not make the good case look slow.
	const window = time.Second
	for _, tt := range []struct {
		name   string
		limits api.UploadLimits
		chunk  int           // bytes sent at a time
		every  time.Duration // between chunks
		code   int
		msg    string
	}{
		{"trickle", api.UploadLimits{MinRate: 4 << 10, Window: window, Timeout: -1}, 16, 20 * time.Millisecond, 400, "upload too slow: less than 4096 bytes arrived in 1s"},
		{"over the time limit", api.UploadLimits{MinRate: -1, Timeout: 600 * time.Millisecond}, 2 << 10, 50 * time.Millisecond, 400, "upload took longer than the server's limit of 600ms"},
		{"slow but above the minimum", api.UploadLimits{MinRate: 4 << 10, Window: window, Timeout: -1}, 2 << 10, 50 * time.Millisecond, 204, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnvWith(t, func(c *server.Config) { c.Upload = tt.limits })
			alice := e.tenant("alice")
			var img struct{ ID string }
			e.do("POST", "/v2/images", alice.token, map[string]any{"name": "x", "disk_format": "raw", "container_format": "bare"}, 201, &img)
			const size = 48 << 10
			conn := putHead(t, e.url, alice.token, img.ID, size)
			start := time.Now()
			go func() {
				for sent := 0; sent < size; sent += tt.chunk {
					if _, err := conn.Write(make([]byte, min(tt.chunk, size-sent))); err != nil {
						return // the server ended the upload
					}
					time.Sleep(tt.every)
				}
			}()
			conn.SetReadDeadline(time.Now().Add(15 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			var eb struct{ Error struct{ Message string } }
			json.Unmarshal(body, &eb)
			if resp.StatusCode != tt.code || !strings.Contains(eb.Error.Message, tt.msg) {
				t.Errorf("after %s: %d %s, want %d %q", time.Since(start), resp.StatusCode, body, tt.code, tt.msg)
			}
			var got struct{ Status string }
			e.do("GET", "/v2/images/"+img.ID, alice.token, nil, 200, &got)
			if want := map[int]string{204: "active", 400: "queued"}[tt.code]; got.Status != want {
				t.Errorf("image is %s, want %s", got.Status, want)
			}
		})
	}
}

// putHead opens a connection and sends the head of an upload of length
// bytes, so that the test paces the body itself.
func putHead(t *testing.T, base, token, id string, length int) net.Conn {
	t.Helper()
	u, _ := url.Parse(base)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	head := "PUT /v2/images/" + id + "/file HTTP/1.1\r\nHost: " + u.Host + "\r\nX-Auth-Token: " + token +
		"\r\nContent-Type: application/octet-stream\r\nContent-Length: " + strconv.Itoa(length) + "\r\n\r\n"
	if _, err := conn.Write([]byte(head)); err != nil {
		t.Fatal(err)
	}
	return conn
}
