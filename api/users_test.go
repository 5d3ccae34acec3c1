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
)

// TestUserLifecycle drives users and tokens over real HTTP: listing users,
// several tokens per user, expiry, revocation and disabling, each taking
// effect on the next request, and each audited.
func TestUserLifecycle(t *testing.T) {
	var mu sync.Mutex
	now := time.Now().UTC()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
	e := newEnvWith(t, func(cfg *server.Config) { cfg.Now = clock })
	// The clock moves between creations, so that lists ordered by
	// creation time have one order.
	advance(time.Second)
	alice := e.tenant("alice")
	advance(time.Second)
	bob := e.tenant("bob")
	advance(time.Second)
	whoami := func(token string, want int) {
		t.Helper()
		e.do("GET", "/v1/whoami", token, nil, want, nil)
	}

	// Listing users: all, or one project's; only for an admin.
	var list struct {
		Users []struct {
			ID        string `json:"id"`
			Name      string `json:"name"`
			ProjectID string `json:"project_id"`
			Disabled  bool   `json:"disabled"`
		}
	}
	e.do("GET", "/v1/users", e.admin, nil, 200, &list)
	var names []string
	for _, u := range list.Users {
		names = append(names, u.Name)
	}
	if want := []string{"admin", "alice-user", "bob-user"}; !slices.Equal(names, want) {
		t.Errorf("GET /v1/users: %q, want %q", names, want)
	}
	e.do("GET", "/v1/users?project_id="+bob.project, e.admin, nil, 200, &list)
	if len(list.Users) != 1 || list.Users[0].ID != bob.user || list.Users[0].Disabled {
		t.Errorf("GET /v1/users?project_id=bob: %+v, want bob-user only, enabled", list.Users)
	}
	e.do("GET", "/v1/users", alice.token, nil, 403, nil)

	// A second token, with an expiry; the first keeps working.
	type tokenOut struct {
		ID        string  `json:"id"`
		UserID    string  `json:"user_id"`
		CreatedAt string  `json:"created_at"`
		ExpiresAt *string `json:"expires_at"`
		RevokedAt *string `json:"revoked_at"`
		Token     string  `json:"token"`
	}
	var second, third tokenOut
	e.do("POST", "/v1/users/"+alice.user+"/tokens", e.admin, map[string]any{"expires_in": 3600}, 201, &second)
	if !strings.HasPrefix(second.Token, "iwt_") || second.ExpiresAt == nil || second.UserID != alice.user || len(second.ID) != 16 {
		t.Errorf("POST tokens: %+v", second)
	}
	advance(time.Second)
	e.do("POST", "/v1/users/"+alice.user+"/tokens", e.admin, nil, 201, &third)
	if third.ExpiresAt != nil {
		t.Errorf("a token without expires_in expires at %s", *third.ExpiresAt)
	}
	for _, tok := range []string{alice.token, second.Token, third.Token} {
		whoami(tok, 200)
	}
	for _, bad := range []any{map[string]any{"expires_in": -1}, map[string]any{"expires_in": 1 << 40}, map[string]any{"expires_in": "24h"}} {
		e.do("POST", "/v1/users/"+alice.user+"/tokens", e.admin, bad, 400, nil)
	}
	e.do("POST", "/v1/users/nobody/tokens", e.admin, nil, 404, nil)
	e.do("POST", "/v1/users/"+alice.user+"/tokens", alice.token, nil, 403, nil)

	// The list names each token by id and never holds a secret.
	resp := e.raw("GET", "/v1/users/"+alice.user+"/tokens", e.admin, "", nil)
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	body := string(b)
	for _, secret := range []string{alice.token, second.Token, third.Token, "iwt_", "hash"} {
		if strings.Contains(body, secret) {
			t.Errorf("token list holds %q: %s", secret, body)
		}
	}
	var toks struct{ Tokens []tokenOut }
	e.do("GET", "/v1/users/"+alice.user+"/tokens", e.admin, nil, 200, &toks)
	var ids []string
	for _, k := range toks.Tokens {
		ids = append(ids, k.ID)
	}
	if len(ids) != 3 || ids[1] != second.ID || ids[2] != third.ID {
		t.Errorf("token ids %q, want [first %s %s]", ids, second.ID, third.ID)
	}
	first := ids[0]

	// Expiry: refused once its time has come, the others not.
	advance(time.Hour)
	whoami(second.Token, 401)
	whoami(alice.token, 200)

	// Revocation: at once, only that token, idempotent; only by id.
	var revoked, again tokenOut
	e.do("DELETE", "/v1/users/"+alice.user+"/tokens/"+third.ID, e.admin, nil, 200, &revoked)
	whoami(third.Token, 401)
	whoami(alice.token, 200)
	advance(time.Second)
	e.do("DELETE", "/v1/users/"+alice.user+"/tokens/"+third.ID, e.admin, nil, 200, &again)
	if revoked.ID != third.ID || revoked.RevokedAt == nil || again.RevokedAt == nil || *again.RevokedAt != *revoked.RevokedAt || revoked.Token != "" {
		t.Errorf("revoking twice: %+v then %+v, want the first revocation time kept", revoked, again)
	}
	e.do("DELETE", "/v1/users/"+bob.user+"/tokens/"+first, e.admin, nil, 404, nil) // alice's, not bob's
	e.do("DELETE", "/v1/users/"+alice.user+"/tokens/not-an-id", e.admin, nil, 400, nil)
	e.do("DELETE", "/v1/users/"+alice.user+"/tokens/"+first, bob.token, nil, 403, nil)
	whoami(alice.token, 200)
	e.do("GET", "/v1/users/"+alice.user+"/tokens", e.admin, nil, 200, &toks)
	if k := toks.Tokens[2]; k.RevokedAt == nil {
		t.Errorf("revoked token listed without revoked_at: %+v", k)
	}

	// Disabling: every token of the user at once; enabling restores them.
	var u struct {
		Disabled bool `json:"disabled"`
	}
	e.do("POST", "/v1/users/"+alice.user+"/disable", e.admin, nil, 200, &u)
	if !u.Disabled {
		t.Error("disable answered disabled=false")
	}
	whoami(alice.token, 401)
	whoami(bob.token, 200)
	e.do("POST", "/v1/users/"+alice.user+"/enable", e.admin, nil, 200, &u)
	whoami(alice.token, 200)
	e.do("POST", "/v1/users/"+bob.user+"/disable", alice.token, nil, 403, nil)
	e.do("POST", "/v1/users/nobody/disable", e.admin, nil, 404, nil)
	var me struct {
		UserID string `json:"user_id"`
	}
	e.do("GET", "/v1/whoami", e.admin, nil, 200, &me)
	e.do("POST", "/v1/users/"+me.UserID+"/disable", e.admin, nil, 400, nil)
	whoami(e.admin, 200)

	// Every change and every refusal of a known token is audited.
	var audit struct {
		Entries []struct{ Action, Object, Result, Reason string }
	}
	e.do("GET", "/v1/audit?limit=1000", e.admin, nil, 200, &audit)
	expires, err := time.Parse(time.RFC3339Nano, *second.ExpiresAt)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range audit.Entries {
		if strings.HasPrefix(a.Action, "token.") || a.Action == "authenticate" || a.Action == "user.disable" || a.Action == "user.enable" {
			got = append(got, a.Action+" "+string(a.Result)+" "+a.Reason)
		}
	}
	slices.Sort(got)
	want := []string{
		"authenticate " + string(imgward.ResultDenied) + " token expired",
		"authenticate " + string(imgward.ResultDenied) + " token revoked",
		"authenticate " + string(imgward.ResultDenied) + " user disabled",
		"token.create " + string(imgward.ResultDenied) + " admin role required",
		"token.create " + string(imgward.ResultOK) + " expires " + expires.Format(time.RFC3339),
		"token.create " + string(imgward.ResultOK) + " no expiry",
		"token.revoke " + string(imgward.ResultDenied) + " admin role required",
		"token.revoke " + string(imgward.ResultOK) + " ",
		"token.revoke " + string(imgward.ResultOK) + " ",
		"user.disable " + string(imgward.ResultDenied) + " admin role required",
		"user.disable " + string(imgward.ResultOK) + " ",
		"user.enable " + string(imgward.ResultOK) + " ",
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("audit:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
