package server_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"imgward/broker"
	"imgward/server"
	"imgward/store/storetest"
)

// cloud is a served imgward with a settable clock, for the tests of image
// protection over real HTTP.
type cloud struct {
	t     testing.TB
	url   string
	admin string
	svc   *server.Service
	mu    sync.Mutex
	now   time.Time
}

func (c *cloud) clock() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// advance moves the clock by d.
func (c *cloud) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// newPostgresCloud is newCloud on the PostgreSQL store of several nodes.
func newPostgresCloud(t *testing.T) *cloud {
	dsn := storetest.PostgresDSN(t)
	return newCloudWith(t, func(cfg *server.Config) { cfg.Store, cfg.DSN = "postgres", dsn })
}

func newCloud(t testing.TB) *cloud { return newCloudWith(t, nil) }

// newCloudWith lets set change the configuration before the start.
func newCloudWith(t testing.TB, set func(*server.Config)) *cloud {
	c := &cloud{t: t, now: time.Now()}
	cfg := server.Config{DataDir: t.TempDir(), Store: "sqlite", Now: c.clock,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if set != nil {
		set(&cfg)
	}
	svc, err := server.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(svc.Handler)
	t.Cleanup(func() { ts.Close(); svc.Close() })
	c.url, c.admin, c.svc = ts.URL, svc.AdminToken, svc
	return c
}

// tenant creates a project with one user and returns both.
func (c *cloud) tenant(name string) (project, token string) {
	var p struct{ ID string }
	c.call("POST", "/v1/projects", c.admin, map[string]string{"name": name}, 201, &p)
	var u struct{ Token string }
	c.call("POST", "/v1/users", c.admin, map[string]string{"name": name, "project_id": p.ID}, 201, &u)
	return p.ID, u.Token
}

// response is what a call got.
type response struct {
	code   int
	header http.Header
	body   []byte
}

// message returns the error message of a JSON error body.
func (r *response) message() string {
	var e struct{ Error struct{ Message string } }
	json.Unmarshal(r.body, &e)
	return e.Error.Message
}

// do sends body (JSON unless it is []byte) and returns the response.
func (c *cloud) do(method, path, token string, body any) *response {
	c.t.Helper()
	var r io.Reader
	ctype := "application/json"
	switch v := body.(type) {
	case nil:
	case []byte:
		r, ctype = bytes.NewReader(v), "application/octet-stream"
	case string:
		r = strings.NewReader(v)
	default:
		buf, _ := json.Marshal(v)
		r = bytes.NewReader(buf)
	}
	if method == "PATCH" {
		ctype = "application/openstack-images-v2.1-json-patch"
	}
	req, _ := http.NewRequest(method, c.url+path, r)
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	req.Header.Set("Content-Type", ctype)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return &response{resp.StatusCode, resp.Header, data}
}

// call is do that fails the test unless the status is want, and decodes
// the body into out.
func (c *cloud) call(method, path, token string, body any, want int, out any) *response {
	c.t.Helper()
	r := c.do(method, path, token, body)
	if r.code != want {
		c.t.Fatalf("%s %s: %d, want %d: %s", method, path, r.code, want, r.body)
	}
	if out != nil {
		json.Unmarshal(r.body, out)
	}
	return r
}

// image creates an image with the given extra attributes and uploads data.
func (c *cloud) image(token string, attrs map[string]any, data []byte) string {
	c.t.Helper()
	id := c.create(token, attrs)
	c.call("PUT", "/v2/images/"+id+"/file", token, data, 204, nil)
	return id
}

// create creates an image with the given extra attributes.
func (c *cloud) create(token string, attrs map[string]any) string {
	c.t.Helper()
	a := map[string]any{"name": "img", "disk_format": "raw", "container_format": "bare"}
	for k, v := range attrs {
		a[k] = v
	}
	var img struct{ ID string }
	c.call("POST", "/v2/images", token, a, 201, &img)
	return img.ID
}

// share makes member an accepted member of image.
func (c *cloud) share(owner, image, member, memberToken string) {
	c.t.Helper()
	c.call("POST", "/v2/images/"+image+"/members", owner, map[string]string{"member": member}, 200, nil)
	c.call("PUT", "/v2/images/"+image+"/members/"+member, memberToken, map[string]string{"status": "accepted"}, 200, nil)
}

// launch launches image and returns the instance id and its identity.
func (c *cloud) launch(token, image string) (id, identity string) {
	c.t.Helper()
	var in struct{ ID, Identity string }
	c.call("POST", "/v1/instances", token, map[string]string{"image_id": image, "host": "compute-1"}, 201, &in)
	if in.Identity == "" {
		c.t.Fatal("launch returned no identity")
	}
	return in.ID, in.Identity
}

// release asks the broker for image's key with identity, as a host does,
// and returns the response and, on success, the data key.
func (c *cloud) release(identity, image string) (*response, []byte) {
	c.t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		c.t.Fatal(err)
	}
	jwk, _ := json.Marshal(jose.JSONWebKey{Key: &priv.PublicKey})
	r := c.do("POST", "/v1/keys/release", "", map[string]any{
		"identity": identity, "image_id": image, "public_key": json.RawMessage(jwk)})
	if r.code != 200 {
		return r, nil
	}
	var rel struct{ Key string }
	json.Unmarshal(r.body, &rel)
	key, err := broker.Open(rel.Key, priv)
	if err != nil {
		c.t.Fatalf("released key does not open: %v", err)
	}
	return r, key
}
