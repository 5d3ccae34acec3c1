package api_test

import (
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"imgward"
	"imgward/server"
	"imgward/store/storetest"
)

// TestLaunchAuth checks authentication on the launch route, which
// authenticates inside the launch's own transaction where the store gains
// by it (catalog.LaunchWithToken, PostgreSQL), and before it on SQLite:
// over real HTTP on both stores, every refusal answers as on any other
// route, audits a known token refused, launches nothing, and a request
// both unauthenticated and malformed is refused as unauthenticated.
func TestLaunchAuth(t *testing.T) {
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) { testLaunchAuth(t, store) })
	}
}

func testLaunchAuth(t *testing.T, store string) {
	var mu sync.Mutex
	now := time.Now().UTC()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
	dsn := ""
	if store == "postgres" {
		dsn = storetest.PostgresDSN(t)
	}
	config := func(c *server.Config) { c.Now, c.Store, c.DSN = clock, store, dsn }
	e := newEnvWith(t, config)
	alice, bob, carol := e.tenant("alice"), e.tenant("bob"), e.tenant("carol")
	shared := e.sharedImage(alice, "shared")
	e.do("POST", "/v2/images/"+shared+"/members", alice.token, map[string]string{"member": bob.project}, 200, nil)
	e.do("POST", "/v2/images/"+shared+"/members", alice.token, map[string]string{"member": carol.project}, 200, nil)
	e.do("PUT", "/v2/images/"+shared+"/members/"+bob.project, bob.token, map[string]string{"status": "accepted"}, 200, nil)
	newToken := func(user string, body any) (id, token string) {
		var k struct{ ID, Token string }
		e.do("POST", "/v1/users/"+user+"/tokens", e.admin, body, 201, &k)
		return k.ID, k.Token
	}
	_, expiring := newToken(bob.user, map[string]any{"expires_in": 60})
	revokedID, revoked := newToken(bob.user, nil)
	e.do("DELETE", "/v1/users/"+bob.user+"/tokens/"+revokedID, e.admin, nil, 200, nil)
	dave := e.tenant("dave")
	e.do("POST", "/v1/users/"+dave.user+"/disable", e.admin, nil, 200, nil)
	collector := e.collectorOf("ops", "hv-1")
	advance(2 * time.Minute) // expiring has expired

	const json = "application/json"
	body := func(image string) string { return `{"image_id":"` + image + `","host":"hv-1"}` }
	const unauthenticated = "missing or invalid token"
	bigLaunch := `{"image_id":"` + shared + `","host":"` + strings.Repeat("h", 4<<10) + `"}`
	tests := []struct {
		name, token, contentType, body string
		code                           int
		message                        string
	}{
		{"owner", alice.token, json, body(shared), 201, ""},
		{"accepted member", bob.token, json, body(shared), 201, ""},
		{"pending member", carol.token, json, body(shared), 403, "may not launch"},
		{"no token", "", json, body(shared), 401, unauthenticated},
		{"unknown imgward token", "iwt_" + strings.Repeat("0", 64), json, body(shared), 401, unauthenticated},
		{"not an imgward token", "gAAAAA-keystone-like", json, body(shared), 401, unauthenticated},
		{"token too long", "iwt_" + strings.Repeat("a", 300), json, body(shared), 401, unauthenticated},
		{"expired token", expiring, json, body(shared), 401, unauthenticated},
		{"revoked token", revoked, json, body(shared), 401, unauthenticated},
		{"disabled user", dave.token, json, body(shared), 401, unauthenticated},
		{"collector", collector, json, body(shared), 403, "a collector may only post snapshots"},
		{"revoked token, malformed body", revoked, json, `{"image_id":`, 401, unauthenticated},
		{"no token, wrong media type", "", "text/plain", body(shared), 401, unauthenticated},
		{"collector, malformed body", collector, json, `nope`, 403, "a collector may only post snapshots"},
		{"revoked token, no such image", revoked, json, body("00000000-0000-4000-8000-000000000009"), 401, unauthenticated},
		{"revoked token, bad image id", revoked, json, body("x"), 401, unauthenticated},
		{"valid token, malformed body", alice.token, json, `{"image_id":`, 400, ""},
		{"valid token, no such image", alice.token, json, body("00000000-0000-4000-8000-000000000009"), 404, ""},
		{"valid token, not an image id", alice.token, json, body("x"), 404, "no such image"},
		{"valid token, an image it may not see", dave.token, json, body(shared), 401, unauthenticated},
		{"valid token, bad host", alice.token, json, `{"image_id":"` + shared + `","host":"a\u0001b"}`, 400, "host"},
		// The body is read before the caller is known, so its bound is a
		// launch's size: an unknown caller is refused as unauthenticated,
		// a known one learns the bound.
		{"no token, body over the bound", "", json, bigLaunch, 401, unauthenticated},
		{"revoked token, body over the bound", revoked, json, bigLaunch, 401, unauthenticated},
		{"valid token, body over the bound", alice.token, json, bigLaunch, 413, "request body is over 4 KiB"},
	}
	for _, tt := range tests {
		resp := e.raw("POST", "/v1/instances", tt.token, tt.contentType, strings.NewReader(tt.body))
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.code || !strings.Contains(string(b), tt.message) {
			t.Errorf("%s: %d %s, want %d with %q", tt.name, resp.StatusCode, b, tt.code, tt.message)
		}
		if tt.code == 401 && resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", tt.name)
		}
	}
	var list struct{ Instances []instanceJSON }
	e.do("GET", "/v1/instances", e.admin, nil, 200, &list)
	if len(list.Instances) != 2 {
		t.Errorf("%d instances launched, want 2 (the owner's and the accepted member's)", len(list.Instances))
	}

	// Each use of a known token refused is audited, once; so is the
	// launch refused to a caller authenticated.
	var audit struct {
		Entries []struct{ Action, Object, Result, Reason string }
	}
	e.do("GET", "/v1/audit?limit=1000", e.admin, nil, 200, &audit)
	var got []string
	for _, a := range audit.Entries {
		if a.Action == "authenticate" || a.Action == "instance.launch" {
			got = append(got, a.Action+" "+a.Result+" "+a.Reason)
		}
	}
	slices.Sort(got)
	denied := " " + string(imgward.ResultDenied) + " "
	want := []string{
		"authenticate" + denied + "token expired",
		"authenticate" + denied + "token revoked", "authenticate" + denied + "token revoked",
		"authenticate" + denied + "token revoked", "authenticate" + denied + "token revoked",
		"authenticate" + denied + "token revoked",
		"authenticate" + denied + "user disabled", "authenticate" + denied + "user disabled",
		"instance.launch" + denied + "membership is pending, not accepted",
		"instance.launch" + denied + "no such image",
		"instance.launch " + string(imgward.ResultOK) + " image " + shared,
		"instance.launch " + string(imgward.ResultOK) + " image " + shared,
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("audit:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	if store != "postgres" {
		return
	}
	// A token revoked on one node is refused by another at once.
	other := newEnvWith(t, config)
	id, tok := newToken(alice.user, nil)
	other.do("POST", "/v1/instances", tok, map[string]string{"image_id": shared, "host": "hv-1"}, 201, nil)
	e.do("DELETE", "/v1/users/"+alice.user+"/tokens/"+id, e.admin, nil, 200, nil)
	other.do("POST", "/v1/instances", tok, map[string]string{"image_id": shared, "host": "hv-1"}, 401, nil)
}

// sharedImage creates an active shared image of the tenant.
func (e *env) sharedImage(owner tenant, name string) string {
	e.t.Helper()
	var img struct{ ID string }
	e.do("POST", "/v2/images", owner.token, map[string]any{"name": name, "disk_format": "raw", "container_format": "bare",
		"visibility": "shared"}, 201, &img)
	resp := e.raw("PUT", "/v2/images/"+img.ID+"/file", owner.token, "application/octet-stream", strings.NewReader("disk"))
	resp.Body.Close()
	if resp.StatusCode != 204 {
		e.t.Fatalf("upload: %d", resp.StatusCode)
	}
	return img.ID
}
