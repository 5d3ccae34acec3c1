package api_test

import (
	"context"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"imgward"
	"imgward/audit"
	"imgward/catalog"
	"imgward/server"
)

type instanceJSON struct {
	ID           string  `json:"id"`
	ImageID      string  `json:"image_id"`
	ProjectID    string  `json:"project_id"`
	UserID       string  `json:"user_id"`
	Host         string  `json:"host"`
	State        string  `json:"state"`
	TerminatedAt *string `json:"terminated_at"`
}

// TestLaunchPermission checks who may launch: owner, public, community and
// accepted members; not pending, rejected or removed members, nor strangers.
func TestLaunchPermission(t *testing.T) {
	e := newEnv(t, catalog.Limits{})
	alice, bob, carol := e.tenant("alice"), e.tenant("bob"), e.tenant("carol")
	newImage := func(vis string) string {
		var img struct{ ID string }
		e.do("POST", "/v2/images", alice.token, map[string]any{"name": vis, "disk_format": "raw", "container_format": "bare"}, 201, &img)
		resp := e.raw("PUT", "/v2/images/"+img.ID+"/file", alice.token, "application/octet-stream", strings.NewReader("disk"))
		resp.Body.Close()
		if vis != "shared" {
			admin := e.admin
			if vis != "public" {
				admin = alice.token
			}
			e.do("PATCH", "/v2/images/"+img.ID, admin, nil, 415, nil) // plain JSON is refused for patch
			r := e.raw("PATCH", "/v2/images/"+img.ID, admin, "application/openstack-images-v2.1-json-patch",
				strings.NewReader(`[{"op":"replace","path":"/visibility","value":"`+vis+`"}]`))
			r.Body.Close()
			if r.StatusCode != 200 {
				t.Fatalf("set visibility %s: %d", vis, r.StatusCode)
			}
		}
		return img.ID
	}
	shared, public, community, private := newImage("shared"), newImage("public"), newImage("community"), newImage("private")
	launch := func(token, image string, want int) *instanceJSON {
		t.Helper()
		var in instanceJSON
		e.do("POST", "/v1/instances", token, map[string]string{"image_id": image, "host": "hv-1"}, want, &in)
		return &in
	}
	setMember := func(status string) {
		e.do("PUT", "/v2/images/"+shared+"/members/"+bob.project, bob.token, map[string]string{"status": status}, 200, nil)
	}
	launch(alice.token, shared, 201)
	launch(alice.token, private, 201)
	launch(bob.token, public, 201)
	launch(bob.token, community, 201)
	launch(bob.token, private, 404)
	launch(bob.token, shared, 404) // not a member: the image is invisible
	e.do("POST", "/v2/images/"+shared+"/members", alice.token, map[string]string{"member": bob.project}, 200, nil)
	launch(bob.token, shared, 403) // pending
	setMember("rejected")
	launch(bob.token, shared, 403)
	setMember("accepted")
	in := launch(bob.token, shared, 201)
	if !strings.HasPrefix(in.ID, "i-") || len(in.ID) != 18 || in.ImageID != shared || in.ProjectID != bob.project ||
		in.UserID != bob.user || in.Host != "hv-1" || in.State != "running" || in.TerminatedAt != nil {
		t.Fatalf("instance %+v", in)
	}
	launch(carol.token, shared, 404)
	e.do("DELETE", "/v2/images/"+shared+"/members/"+bob.project, alice.token, nil, 204, nil)
	launch(bob.token, shared, 404)

	// Instances: each project sees its own; the admin sees all.
	var got instanceJSON
	e.do("GET", "/v1/instances/"+in.ID, bob.token, nil, 200, &got)
	e.do("GET", "/v1/instances/"+in.ID, alice.token, nil, 404, nil)
	e.do("DELETE", "/v1/instances/"+in.ID, alice.token, nil, 404, nil)
	var list struct{ Instances []instanceJSON }
	e.do("GET", "/v1/instances?image_id="+shared, e.admin, nil, 200, &list)
	if len(list.Instances) != 2 {
		t.Fatalf("admin sees %d instances of the shared image", len(list.Instances))
	}
	e.do("GET", "/v1/instances?publisher="+alice.project, e.admin, nil, 200, &list)
	if len(list.Instances) != 5 {
		t.Fatalf("admin sees %d instances of alice's images, want 5", len(list.Instances))
	}
	e.do("GET", "/v1/instances", bob.token, nil, 200, &list)
	if len(list.Instances) != 3 {
		t.Fatalf("bob sees %d instances, want 3", len(list.Instances))
	}
	e.do("DELETE", "/v1/instances/"+in.ID, bob.token, nil, 200, &got)
	if got.State != "terminated" || got.TerminatedAt == nil {
		t.Fatalf("terminated instance %+v", got)
	}
	e.do("DELETE", "/v1/instances/"+in.ID, bob.token, nil, 409, nil)
}

// TestAuth checks both token headers, and that admin endpoints refuse members.
func TestAuth(t *testing.T) {
	e := newEnv(t, catalog.Limits{})
	alice := e.tenant("alice")
	for _, tt := range []struct {
		name   string
		header string
		value  string
		want   int
	}{
		{"x-auth-token", "X-Auth-Token", alice.token, 200},
		{"bearer", "Authorization", "Bearer " + alice.token, 200},
		{"no token", "", "", 401},
		{"wrong token", "X-Auth-Token", alice.token + "x", 401},
		{"basic auth", "Authorization", "Basic " + alice.token, 401},
		{"huge token", "X-Auth-Token", strings.Repeat("a", 10000), 401},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", e.url+"/v1/whoami", nil)
			if tt.header != "" {
				req.Header.Set(tt.header, tt.value)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
	var who struct {
		UserID    string `json:"user_id"`
		ProjectID string `json:"project_id"`
		Role      string `json:"role"`
	}
	e.do("GET", "/v1/whoami", alice.token, nil, 200, &who)
	if who.UserID != alice.user || who.ProjectID != alice.project || who.Role != "member" {
		t.Fatalf("whoami %+v", who)
	}
	e.do("POST", "/v1/projects", alice.token, map[string]string{"name": "mine"}, 403, nil)
	e.do("POST", "/v1/users", alice.token, map[string]string{"name": "x", "project_id": alice.project}, 403, nil)
	e.do("GET", "/v1/audit", alice.token, nil, 403, nil)
	e.do("POST", "/v1/users", e.admin, map[string]string{"name": "x", "project_id": "nope"}, 400, nil)
	e.do("POST", "/v1/users", e.admin, map[string]string{"name": "x", "project_id": alice.project, "role": "root"}, 400, nil)
	e.do("POST", "/v1/projects", e.admin, map[string]string{"name": ""}, 400, nil)
}

// TestAdminToken checks the first start's admin token file.
func TestAdminToken(t *testing.T) {
	e := newEnv(t, catalog.Limits{})
	if !strings.HasPrefix(e.admin, "iwt_") {
		t.Fatalf("admin token %q", e.admin)
	}
	var who struct{ Role string }
	e.do("GET", "/v1/whoami", e.admin, nil, 200, &who)
	if who.Role != "admin" {
		t.Fatalf("admin role %q", who.Role)
	}
	path := filepath.Join(e.dir, "admin.token")
	b, err := os.ReadFile(path)
	if err != nil || strings.TrimSpace(string(b)) != e.admin {
		t.Fatalf("admin.token holds %q (%v)", b, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin.token mode %v", fi.Mode().Perm())
	}
	// A second start on the same store creates no second admin.
	svc, err := server.Open(context.Background(), server.Config{DataDir: e.dir, Store: "sqlite"})
	if err == nil {
		defer svc.Close()
	}
	if err != nil || svc.AdminToken != "" {
		t.Fatalf("second start: token %q, err %v", svc.AdminToken, err)
	}
}

// TestPublisher checks profiles: the project edits, only an admin verifies,
// and an edit by the project clears verification.
func TestPublisher(t *testing.T) {
	e := newEnv(t, catalog.Limits{})
	alice, bob := e.tenant("alice"), e.tenant("bob")
	type pub struct {
		ProjectID   string `json:"project_id"`
		DisplayName string `json:"display_name"`
		Contact     string `json:"contact"`
		Verified    bool   `json:"verified"`
	}
	var p pub
	e.do("GET", "/v1/publishers/"+alice.project, bob.token, nil, 200, &p)
	if p.DisplayName != "alice" || p.Verified {
		t.Fatalf("default profile %+v", p)
	}
	e.do("PUT", "/v1/publishers/"+alice.project, alice.token, map[string]any{"display_name": "Alice Images Ltd", "contact": "sec@alice.example"}, 200, &p)
	e.do("PUT", "/v1/publishers/"+alice.project, alice.token, map[string]any{"verified": true}, 403, nil)
	e.do("PUT", "/v1/publishers/"+alice.project, bob.token, map[string]any{"display_name": "Evil"}, 403, nil)
	e.do("PUT", "/v1/publishers/"+alice.project, e.admin, map[string]any{"verified": true}, 200, &p)
	e.do("GET", "/v1/publishers/"+alice.project, bob.token, nil, 200, &p)
	if !p.Verified || p.DisplayName != "Alice Images Ltd" || p.Contact != "sec@alice.example" {
		t.Fatalf("verified profile %+v", p)
	}
	e.do("PUT", "/v1/publishers/"+alice.project, alice.token, map[string]any{"display_name": "Totally Alice"}, 200, &p)
	if p.Verified {
		t.Fatal("renaming kept the verified flag")
	}
	e.do("GET", "/v1/publishers/nope", bob.token, nil, 404, nil)
}

// TestAuditTrail checks that changes and denials are audited, and that the
// chain served by the API verifies and breaks when edited.
func TestAuditTrail(t *testing.T) {
	e := newEnv(t, catalog.Limits{})
	alice, bob := e.tenant("alice"), e.tenant("bob")
	var img struct{ ID string }
	e.do("POST", "/v2/images", alice.token, map[string]any{"name": "a"}, 201, &img)
	e.do("POST", "/v2/images/"+img.ID+"/members", alice.token, map[string]string{"member": bob.project}, 200, nil)
	e.do("POST", "/v1/instances", bob.token, map[string]string{"image_id": img.ID}, 403, nil)
	e.do("DELETE", "/v2/images/"+img.ID, bob.token, nil, 403, nil)

	var page struct {
		Entries []struct {
			Seq                                         int64
			Time, Actor, Action, Object, Result, Reason string
			Prev, Hash                                  string
		}
	}
	e.do("GET", "/v1/audit?limit=1000", e.admin, nil, 200, &page)
	var entries []imgward.AuditEntry
	var denials []string
	for _, x := range page.Entries {
		tm, err := time.Parse(time.RFC3339Nano, x.Time)
		if err != nil {
			t.Fatal(err)
		}
		prev, _ := hex.DecodeString(x.Prev)
		h, _ := hex.DecodeString(x.Hash)
		entries = append(entries, imgward.AuditEntry{Seq: x.Seq, Time: tm, Actor: x.Actor, Action: x.Action,
			Object: x.Object, Result: x.Result, Reason: x.Reason, Prev: prev, Hash: h})
		if x.Result == "denied" {
			denials = append(denials, x.Action+": "+x.Reason)
		}
	}
	want := []string{"instance.launch: membership is pending, not accepted", "image.delete: not the owner"}
	if strings.Join(denials, "|") != strings.Join(want, "|") {
		t.Fatalf("denials %q, want %q", denials, want)
	}
	// A checkpoint of the whole log, as one kept outside the server:
	// entries carry no link to the one before (hash version 2), so a
	// deletion shows against a checkpoint.
	var whole audit.Verifier
	for i := range entries {
		if err := whole.Next(&entries[i]); err != nil {
			t.Fatal(err)
		}
	}
	root, err := whole.Root(whole.Checked)
	if err != nil {
		t.Fatal(err)
	}
	cp := []audit.Checkpoint{{Origin: audit.DefaultOrigin, Size: whole.Checked, Root: root}}
	verify := func(es []imgward.AuditEntry) error {
		var v audit.Verifier
		for i := range es {
			if err := v.Next(&es[i]); err != nil {
				return err
			}
		}
		return v.Against(cp)
	}
	if err := verify(entries); err != nil {
		t.Fatal(err)
	}
	edited := append([]imgward.AuditEntry(nil), entries...)
	edited[2].Reason = "nothing to see"
	if verify(edited) == nil {
		t.Fatal("an edited entry verified")
	}
	deleted := append(append([]imgward.AuditEntry(nil), entries[:3]...), entries[4:]...)
	if verify(deleted) == nil {
		t.Fatal("a log with a deleted entry verified")
	}
}
