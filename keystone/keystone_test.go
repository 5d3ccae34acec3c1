package keystone

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"imgward/errors"
)

// fakeKeystone answers the two calls of the identity API that a Validator
// makes, for the unit tests; the tests against a real Keystone are in
// api/openstack_test.go.
type fakeKeystone struct {
	srv      *httptest.Server
	service  atomic.Value      // string: the service token it takes now
	checks   atomic.Int64      // GET /v3/auth/tokens calls
	issued   atomic.Int64      // POST /v3/auth/tokens calls
	tokens   map[string]string // user token -> project ("" unscoped)
	expires  time.Time
	password string
}

func newFake(t *testing.T) *fakeKeystone {
	f := &fakeKeystone{tokens: map[string]string{"good": "p1", "admin": "p2", "unscoped": ""},
		expires: time.Now().Add(time.Hour), password: "pw"}
	f.service.Store("")
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeKeystone) doc(user, project string, roles ...string) map[string]any {
	tok := map[string]any{"expires_at": f.expires.UTC().Format("2006-01-02T15:04:05.000000Z"),
		"user": map[string]string{"id": "u-" + user, "name": user}}
	if project != "" {
		tok["project"] = map[string]string{"id": project, "name": "name-" + project}
	}
	var rs []map[string]string
	for _, r := range roles {
		rs = append(rs, map[string]string{"id": r, "name": r})
	}
	tok["roles"] = rs
	return map[string]any{"token": tok}
}

func (f *fakeKeystone) serve(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == "POST" && r.URL.Path == "/v3/auth/tokens":
		var body struct {
			Auth struct {
				Identity struct {
					Password struct {
						User struct{ Name, Password string }
					}
				}
			}
		}
		json.NewDecoder(r.Body).Decode(&body)
		if body.Auth.Identity.Password.User.Password != f.password {
			w.WriteHeader(401)
			return
		}
		tok := fmt.Sprintf("svc-%d", f.issued.Add(1))
		f.service.Store(tok)
		w.Header().Set("X-Subject-Token", tok)
		w.WriteHeader(201)
		json.NewEncoder(w).Encode(f.doc("imgward", "service", "service"))
	case r.Method == "GET" && r.URL.Path == "/v3/auth/tokens":
		f.checks.Add(1)
		if r.Header.Get("X-Auth-Token") != f.service.Load().(string) {
			w.WriteHeader(401)
			return
		}
		sub := r.Header.Get("X-Subject-Token")
		project, ok := f.tokens[sub]
		if !ok {
			w.WriteHeader(404)
			return
		}
		roles := []string{"member", "reader"}
		if sub == "admin" {
			roles = append(roles, "admin")
		}
		json.NewEncoder(w).Encode(f.doc(sub, project, roles...))
	default:
		w.WriteHeader(404)
	}
}

func newValidator(t *testing.T, f *fakeKeystone, now func() time.Time) *Validator {
	v, err := New(Config{URL: f.srv.URL, Username: "imgward", Password: f.password, ProjectName: "service", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestValidate(t *testing.T) {
	f := newFake(t)
	clock := time.Now()
	v := newValidator(t, f, func() time.Time { return clock })
	ctx := context.Background()

	id, err := v.Validate(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	if id.UserID != "u-admin" || id.ProjectID != "p2" || !id.HasRole("Admin") || id.HasRole("collector") {
		t.Fatalf("identity %+v", id)
	}
	// Cached: no second round trip while the token lives.
	for range 3 {
		if _, err := v.Validate(ctx, "admin"); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.checks.Load(); n != 1 {
		t.Errorf("%d checks for one token, want 1", n)
	}

	tests := []struct {
		token string
		kind  errors.Kind
	}{
		{"forged", errors.Unauthenticated},
		{"unscoped", errors.Unauthenticated},
	}
	for _, tt := range tests {
		_, err := v.Validate(ctx, tt.token)
		if errors.KindOf(err) != tt.kind {
			t.Errorf("%s: %v, want kind %v", tt.token, err, tt.kind)
		}
	}
	// A rejected token stays rejected for the negative TTL, then is asked
	// about again.
	before := f.checks.Load()
	v.Validate(ctx, "forged")
	if f.checks.Load() != before {
		t.Error("a rejected token was checked again at once")
	}
	clock = clock.Add(6 * time.Second)
	v.Validate(ctx, "forged")
	if f.checks.Load() != before+1 {
		t.Error("a rejected token was not checked again after the negative TTL")
	}
	// A valid token expires from the cache with the token.
	clock = f.expires.Add(time.Second)
	f.expires = clock.Add(time.Hour) // as if Keystone had issued it anew
	before = f.checks.Load()
	v.Validate(ctx, "good")
	v.Validate(ctx, "good")
	if f.checks.Load() != before+1 {
		t.Errorf("checks after expiry: %d, want 1", f.checks.Load()-before)
	}
	// A token that lives for an hour is asked about again after the cache
	// time, so that its revocation takes effect within it.
	before = f.checks.Load()
	clock = clock.Add(299 * time.Second)
	v.Validate(ctx, "good")
	if f.checks.Load() != before {
		t.Error("a cached token was checked again within the cache time")
	}
	clock = clock.Add(2 * time.Second)
	v.Validate(ctx, "good")
	if f.checks.Load() != before+1 {
		t.Error("a token an hour from expiry was not checked again after the cache time")
	}
}

// TestServiceTokenRenewed checks that imgward renews its own token when
// Keystone stops taking it, and reports refused credentials as Unavailable.
func TestServiceTokenRenewed(t *testing.T) {
	f := newFake(t)
	v := newValidator(t, f, nil)
	ctx := context.Background()
	if _, err := v.Validate(ctx, "good"); err != nil {
		t.Fatal(err)
	}
	f.service.Store("revoked")
	if _, err := v.Validate(ctx, "admin"); err != nil {
		t.Fatalf("after the service token was revoked: %v", err)
	}
	if n := f.issued.Load(); n != 2 {
		t.Errorf("%d service tokens issued, want 2", n)
	}
	f.service.Store("revoked")
	f.password = "changed"
	_, err := v.Validate(ctx, "other")
	if !errors.Is(errors.Unavailable, err) {
		t.Errorf("with refused credentials: %v, want Unavailable", err)
	}
}

func TestUnreachable(t *testing.T) {
	f := newFake(t)
	v := newValidator(t, f, nil)
	f.srv.Close()
	if _, err := v.Validate(context.Background(), "good"); !errors.Is(errors.Unavailable, err) {
		t.Errorf("keystone down: %v, want Unavailable", err)
	}
}

func TestConfig(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no url":      {Username: "u", Password: "p", ProjectName: "s"},
		"no password": {URL: "http://k", Username: "u", ProjectName: "s"},
		"bad scheme":  {URL: "ftp://k", Username: "u", Password: "p", ProjectName: "s"},
	} {
		if _, err := New(cfg); !errors.Is(errors.Invalid, err) {
			t.Errorf("%s: %v, want Invalid", name, err)
		}
	}
}

// TestCacheBounded checks that the cache holds at most its size, evicting
// the least recently used entry.
func TestCacheBounded(t *testing.T) {
	c := newCache(3)
	now := time.Now()
	exp := now.Add(time.Hour)
	for i := range 5 {
		c.put(fmt.Sprint(i), &Identity{UserID: fmt.Sprint(i)}, exp)
		if i == 2 {
			c.get("0", now) // 0 is now the most recent
		}
	}
	if c.len() != 3 {
		t.Fatalf("cache holds %d, want 3", c.len())
	}
	for tok, want := range map[string]bool{"0": true, "1": false, "2": false, "3": true, "4": true} {
		if _, _, hit := c.get(tok, now); hit != want {
			t.Errorf("token %s cached: %v, want %v", tok, hit, want)
		}
	}
}
