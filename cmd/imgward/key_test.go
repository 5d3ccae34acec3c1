package main

import "testing"

// TestRotateCommands rotates both keys through the CLI.
func TestRotateCommands(t *testing.T) {
	url, adminToken := startServer(t)
	admin := user{t, url, adminToken}
	var rot struct {
		KeyID     string `json:"key_id"`
		Version   int
		Rewrapped int
		Retired   []int
	}
	admin.json(&rot, "key", "rotate")
	if rot.KeyID != "imgward-images" || rot.Version != 2 || len(rot.Retired) != 0 {
		t.Errorf("key rotate = %+v, want imgward-images v2, none retired", rot)
	}
	admin.json(&rot, "key", "rotate", "--retire")
	if rot.Version != 3 || len(rot.Retired) != 2 {
		t.Errorf("key rotate --retire = %+v, want v3, v1 and v2 retired", rot)
	}
	var id struct{ Kid string }
	admin.json(&id, "identity", "rotate")
	if id.Kid == "" {
		t.Error("identity rotate printed no kid")
	}
	if out := admin.ok("identity", "rotate"); out == "" {
		t.Error("identity rotate printed nothing")
	}
	user{t, url, "nope"}.fails(4, "", "key", "rotate")
}
