package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/pagination"

	"imgward/catalog"
	"imgward/server"
)

// env is a real imgward on a temporary SQLite store, served over HTTP.
type env struct {
	t     *testing.T
	url   string
	admin string // the admin's token
	dir   string // the data directory
	svc   *server.Service
	ts    *httptest.Server
	cfg   server.Config
}

func newEnv(t *testing.T, limits catalog.Limits) *env {
	return newEnvWith(t, func(cfg *server.Config) { cfg.Limits = limits })
}

// newEnvWith is newEnv with the configuration changed by set.
func newEnvWith(t *testing.T, set func(*server.Config)) *env {
	t.Helper()
	dir := t.TempDir()
	cfg := server.Config{DataDir: dir, Store: "sqlite", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	set(&cfg)
	e := &env{t: t, dir: dir, cfg: cfg}
	e.start()
	e.admin = e.svc.AdminToken
	t.Cleanup(func() { e.ts.Close(); e.svc.Close() })
	return e
}

// start opens the service on the env's store and serves it.
func (e *env) start() {
	e.t.Helper()
	svc, err := server.Open(context.Background(), e.cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.svc, e.ts = svc, httptest.NewServer(svc.Handler)
	e.url = e.ts.URL
}

// restart stops the service and starts it again on the same store, as
// after a crash or an upgrade: what it holds in memory is rebuilt.
func (e *env) restart() {
	e.t.Helper()
	e.ts.Close()
	e.svc.Close()
	e.start()
}

// tenant is a project with one member user.
type tenant struct {
	project string
	user    string
	token   string
}

// tenant creates a project and a member user in it.
func (e *env) tenant(name string) tenant {
	e.t.Helper()
	var p struct{ ID string }
	e.do("POST", "/v1/projects", e.admin, map[string]string{"name": name}, 201, &p)
	var u struct{ ID, Token string }
	e.do("POST", "/v1/users", e.admin, map[string]string{"name": name + "-user", "project_id": p.ID}, 201, &u)
	return tenant{project: p.ID, user: u.ID, token: u.Token}
}

// do sends a JSON request and checks the status; out, if not nil, receives
// the decoded body.
func (e *env) do(method, path, token string, body any, want int, out any) {
	e.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	resp := e.raw(method, path, token, "application/json", r)
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			e.t.Fatalf("%s %s: decoding %s: %v", method, path, data, err)
		}
	}
}

// raw sends a request as given and returns the response.
func (e *env) raw(method, path, token, contentType string, body io.Reader) *http.Response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

// glance returns an OpenStack image service client for a token.
func (e *env) glance(token string) *gophercloud.ServiceClient {
	pc := &gophercloud.ProviderClient{TokenID: token, HTTPClient: *http.DefaultClient}
	return &gophercloud.ServiceClient{ProviderClient: pc, Endpoint: e.url + "/", ResourceBase: e.url + "/v2/", Type: "image"}
}

// wantCode checks that err is a gophercloud error with the given status.
func wantCode(t *testing.T, what string, err error, code int) {
	t.Helper()
	if !gophercloud.ResponseCodeIs(err, code) {
		t.Fatalf("%s: got %v, want HTTP %d", what, err, code)
	}
}

type glanceClient = *gophercloud.ServiceClient

type paginationPage = pagination.Page

// waitABit yields between polls of a condition.
func waitABit() { time.Sleep(10 * time.Millisecond) }
