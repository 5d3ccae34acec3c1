package main

import (
	"strings"
	"testing"
)

// TestUserTokenCLI drives user list, user disable/enable and token
// create/list/revoke against a real server.
func TestUserTokenCLI(t *testing.T) {
	url, adminToken := startServer(t)
	admin := user{t, url, adminToken}
	var pa, pb, ua obj
	admin.json(&pa, "project", "create", "alice-corp")
	admin.json(&pb, "project", "create", "bob-corp")
	admin.json(&ua, "user", "create", "alice", "--project", pa["id"].(string))
	admin.ok("user", "create", "bob", "--project", pb["id"].(string))
	aliceID := ua["id"].(string)
	alice := user{t, url, ua["token"].(string)}

	// user list: all, or one project's.
	if out := admin.ok("user", "list"); !strings.Contains(out, "DISABLED") || !strings.Contains(out, "alice") || !strings.Contains(out, "bob") {
		t.Errorf("user list:\n%s", out)
	}
	var users []obj
	admin.json(&users, "user", "list", "--project", pa["id"].(string))
	if len(users) != 1 || users[0]["id"] != aliceID || users[0]["disabled"] != false {
		t.Errorf("user list --project: %v", users)
	}
	alice.fails(exitPermission, "admin", "user", "list")

	// token create, with and without --expires; the new token works.
	var k1, k2 obj
	admin.json(&k1, "token", "create", aliceID, "--expires", "24h")
	if k1["expires_at"] == nil || !strings.HasPrefix(k1["token"].(string), "iwt_") {
		t.Errorf("token create --expires 24h: %v", k1)
	}
	_, stderr, code := admin.run(nil, "token", "create", aliceID, "--output", "json")
	if code != 0 || !strings.Contains(stderr, "shown only once") {
		t.Errorf("token create: exit %d, stderr %q", code, stderr)
	}
	admin.json(&k2, "token", "create", aliceID)
	second := user{t, url, k2["token"].(string)}
	second.ok("image", "list")
	admin.fails(exitUsage, "--expires", "token", "create", aliceID, "--expires", "-1h")
	admin.fails(exitUsage, "--expires", "token", "create", aliceID, "--expires", "100000h")

	// token list shows ids, never a secret.
	out := admin.ok("token", "list", aliceID)
	if !strings.Contains(out, k1["id"].(string)) || !strings.Contains(out, k2["id"].(string)) || strings.Contains(out, "iwt_") {
		t.Errorf("token list:\n%s", out)
	}
	var toks []obj
	admin.json(&toks, "token", "list", aliceID)
	if len(toks) != 4 {
		t.Errorf("alice has %d tokens, want 4 (one from user create, three from token create)", len(toks))
	}

	// token revoke: that token stops, the others work.
	var rev obj
	admin.json(&rev, "token", "revoke", aliceID, k2["id"].(string))
	if rev["revoked_at"] == nil {
		t.Errorf("token revoke: %v", rev)
	}
	second.fails(exitPermission, "", "image", "list")
	alice.ok("image", "list")
	admin.fails(exitNotFound, "", "token", "revoke", aliceID, "0000000000000000")

	// user disable: every token stops; enable restores them.
	var u obj
	admin.json(&u, "user", "disable", aliceID)
	if u["disabled"] != true {
		t.Errorf("user disable: %v", u)
	}
	alice.fails(exitPermission, "", "image", "list")
	admin.ok("user", "enable", aliceID)
	alice.ok("image", "list")
}
