package api_test

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"imgward/catalog"
)

// TestGlanceVersions checks version discovery: 300 with v2 as CURRENT and a
// link to /v2/, at every path where Glance answers it, without a token.
func TestGlanceVersions(t *testing.T) {
	e := newEnv(t, catalog.Limits{})
	for _, path := range []string{"/", "/versions", "/v2", "/v2/"} {
		var body struct {
			Versions []struct {
				ID, Status string
				Links      []struct{ Rel, Href string }
			}
		}
		e.do("GET", path, "", nil, http.StatusMultipleChoices, &body)
		if len(body.Versions) == 0 || body.Versions[0].Status != "CURRENT" || !strings.HasPrefix(body.Versions[0].ID, "v2.") {
			t.Fatalf("%s: versions %+v", path, body.Versions)
		}
		for _, v := range body.Versions {
			if len(v.Links) != 1 || v.Links[0].Href != e.url+"/v2/" {
				t.Errorf("%s: version %s links %+v, want %s/v2/", path, v.ID, v.Links, e.url)
			}
		}
	}
}

// TestGlanceSchemasAndInfo checks the schemas clients fetch and the info
// calls that say import and multiple stores are off.
func TestGlanceSchemasAndInfo(t *testing.T) {
	e := newEnv(t, catalog.Limits{})
	a := e.tenant("alice")
	var img struct {
		Name       string
		Properties map[string]map[string]any
		Additional map[string]any `json:"additionalProperties"`
	}
	e.do("GET", "/v2/schemas/image", a.token, nil, 200, &img)
	if img.Name != "image" || img.Additional["type"] != "string" {
		t.Fatalf("image schema %+v", img)
	}
	for _, k := range []string{"id", "name", "status", "visibility", "tags", "disk_format", "container_format", "checksum", "os_hash_value", catalog.PropProtect} {
		if img.Properties[k] == nil {
			t.Errorf("image schema lacks %s", k)
		}
	}
	for _, k := range []string{"status", "checksum", "size", "created_at", "self"} {
		if img.Properties[k]["readOnly"] != true {
			t.Errorf("image schema: %s is not readOnly", k)
		}
	}
	// The schema describes what imgward renders: every attribute of a real
	// image is in it, and so is every format imgward accepts.
	var created map[string]any
	e.do("POST", "/v2/images", a.token, map[string]any{"name": "x", "disk_format": "qcow2", "container_format": "bare"}, 201, &created)
	for k := range created {
		if img.Properties[k] == nil {
			t.Errorf("image attribute %s is not in the schema", k)
		}
	}
	if !slices.Contains(img.Properties["disk_format"]["enum"].([]any), any("qcow2")) {
		t.Errorf("disk_format enum %v", img.Properties["disk_format"]["enum"])
	}
	for _, name := range []string{"images", "member", "members"} {
		var s struct{ Name string }
		e.do("GET", "/v2/schemas/"+name, a.token, nil, 200, &s)
		if s.Name != name {
			t.Errorf("schema %s is named %q", name, s.Name)
		}
	}
	e.do("GET", "/v2/schemas/nothing", a.token, nil, 404, nil)
	e.do("GET", "/v2/schemas/image", "", nil, 401, nil)

	var imp struct {
		Methods struct{ Value []string } `json:"import-methods"`
	}
	e.do("GET", "/v2/info/import", a.token, nil, 200, &imp)
	if imp.Methods.Value == nil || len(imp.Methods.Value) != 0 {
		t.Errorf("import methods %+v, want an empty list", imp)
	}
	e.do("GET", "/v2/info/stores", a.token, nil, 404, nil)
}

// TestGlanceTags checks PUT and DELETE of one tag and the tag filter.
func TestGlanceTags(t *testing.T) {
	e := newEnv(t, catalog.Limits{})
	a, b := e.tenant("alice"), e.tenant("bob")
	var img struct {
		ID   string
		Tags []string
	}
	e.do("POST", "/v2/images", a.token, map[string]any{"name": "t", "tags": []string{"one"}}, 201, &img)
	path := "/v2/images/" + img.ID
	e.do("PUT", path+"/tags/two", a.token, nil, 204, nil)
	e.do("PUT", path+"/tags/two", a.token, nil, 204, nil) // again: no change
	e.do("PUT", path+"/tags/x%20y", a.token, nil, 204, nil)
	e.do("GET", path, a.token, nil, 200, &img)
	if !slices.Equal(img.Tags, []string{"one", "two", "x y"}) {
		t.Fatalf("tags %q", img.Tags)
	}
	e.do("DELETE", path+"/tags/one", a.token, nil, 204, nil)
	e.do("DELETE", path+"/tags/one", a.token, nil, 404, nil)
	e.do("PUT", path+"/tags/%1b%5b31m", a.token, nil, 400, nil)
	e.do("PUT", path+"/tags/"+strings.Repeat("t", 256), a.token, nil, 400, nil)
	// Someone else's image: as if it did not exist.
	e.do("PUT", path+"/tags/evil", b.token, nil, 404, nil)
	e.do("DELETE", path+"/tags/two", b.token, nil, 404, nil)
	e.do("GET", path, a.token, nil, 200, &img)
	if !slices.Equal(img.Tags, []string{"two", "x y"}) {
		t.Fatalf("tags after delete %q", img.Tags)
	}

	var other struct{ ID string }
	e.do("POST", "/v2/images", a.token, map[string]any{"name": "u", "tags": []string{"two"}}, 201, &other)
	for _, tt := range []struct {
		query string
		want  []string
	}{
		{"tag=two", []string{other.ID, img.ID}},
		{"tag=two&tag=x%20y", []string{img.ID}},
		{"tag=none", nil},
	} {
		if got := queryIDs(t, e, a.token, "/v2/images?"+tt.query); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.query, got, tt.want)
		}
	}
}

func queryIDs(t *testing.T, e *env, token, path string) []string {
	t.Helper()
	var body struct {
		Images []struct{ ID string }
		Next   string
	}
	e.do("GET", path, token, nil, 200, &body)
	var ids []string
	for _, i := range body.Images {
		ids = append(ids, i.ID)
	}
	return ids
}

// TestGlanceSortAndLimit checks sort_key/sort_dir, sort, paging in a sorted
// order, and limit as Glance treats it.
func TestGlanceSortAndLimit(t *testing.T) {
	e := newEnv(t, catalog.Limits{})
	a := e.tenant("alice")
	byName := map[string]string{}
	for _, n := range []string{"c", "a", "d", "b"} {
		var img struct{ ID string }
		e.do("POST", "/v2/images", a.token, map[string]any{"name": n, "min_ram": len(byName) % 2}, 201, &img)
		byName[n] = img.ID
	}
	ids := func(names ...string) []string {
		var out []string
		for _, n := range names {
			out = append(out, byName[n])
		}
		return out
	}
	tests := []struct {
		query string
		want  []string
	}{
		{"sort_key=name&sort_dir=asc", ids("a", "b", "c", "d")},
		{"sort_key=name", ids("d", "c", "b", "a")},
		{"sort=name:asc", ids("a", "b", "c", "d")},
		{"sort=min_ram:asc,name:desc", ids("d", "c", "b", "a")},
		{"sort_key=min_ram&sort_key=name&sort_dir=desc&sort_dir=asc", ids("a", "b", "c", "d")},
		{"", ids("b", "d", "a", "c")}, // newest first
		{"limit=0", nil},
	}
	for _, tt := range tests {
		if got := queryIDs(t, e, a.token, "/v2/images?"+tt.query); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.query, got, tt.want)
		}
	}
	// Pages of a sorted listing follow the marker in that order.
	var got []string
	next := "/v2/images?sort_key=name&sort_dir=asc&limit=1"
	for range 10 {
		var body struct {
			Images []struct{ ID string }
			Next   string
		}
		e.do("GET", next, a.token, nil, 200, &body)
		for _, i := range body.Images {
			got = append(got, i.ID)
		}
		if body.Next == "" {
			break
		}
		next = body.Next
	}
	if want := ids("a", "b", "c", "d"); !slices.Equal(got, want) {
		t.Errorf("pages %v, want %v", got, want)
	}
	for _, bad := range []string{"sort_key=checksum", "sort_key=name&sort_dir=up", "sort=name&sort_key=name",
		"sort_key=name&sort_key=id&sort_dir=asc&sort_dir=asc&sort_dir=asc", "limit=-1", "limit=x", "limit=0&visibility=everyone",
		"tag=" + strings.Repeat("&tag=t", 17)} {
		e.do("GET", "/v2/images?"+bad, a.token, nil, 400, nil)
	}
	// A limit over the cap is cut to it.
	var body struct{ Next string }
	e.do("GET", "/v2/images?limit=100000", a.token, nil, 200, &body)
	if body.Next != "" {
		t.Errorf("next %q with every image listed", body.Next)
	}
}

// TestGlanceMemberExtraFields checks that a member update ignores fields
// other than status, as Glance does (openstacksdk sends "member").
func TestGlanceMemberExtraFields(t *testing.T) {
	e := newEnv(t, catalog.Limits{})
	a, b := e.tenant("alice"), e.tenant("bob")
	var img struct{ ID string }
	e.do("POST", "/v2/images", a.token, map[string]any{"name": "m"}, 201, &img)
	e.do("POST", "/v2/images/"+img.ID+"/members", a.token, map[string]string{"member": b.project}, 200, nil)
	var m struct{ Status string }
	e.do("PUT", "/v2/images/"+img.ID+"/members/"+b.project, b.token,
		map[string]string{"status": "accepted", "member": b.project}, 200, &m)
	if m.Status != "accepted" {
		t.Fatalf("member %+v", m)
	}
	e.do("PUT", "/v2/images/"+img.ID+"/members/"+b.project, b.token, map[string]any{"member": b.project}, 400, nil)
	e.do("PUT", "/v2/images/"+img.ID+"/members/"+b.project, b.token, map[string]any{"status": 1}, 400, nil)
}

// TestImageNameControlCharacters checks that image names refuse control
// characters at creation and in updates, and that nothing changes.
func TestImageNameControlCharacters(t *testing.T) {
	e := newEnv(t, catalog.Limits{})
	a := e.tenant("alice")
	for _, name := range []string{"a\x00b", "\x1b[2Jx", "tab\there", "del\x7f", "c1\u0085"} {
		e.do("POST", "/v2/images", a.token, map[string]any{"name": name}, 400, nil)
	}
	var img struct{ ID, Name string }
	e.do("POST", "/v2/images", a.token, map[string]any{"name": "ok ✓"}, 201, &img)
	resp := e.raw("PATCH", "/v2/images/"+img.ID, a.token, "application/openstack-images-v2.1-json-patch",
		strings.NewReader(`[{"op":"replace","path":"/name","value":"bad\u0007"}]`))
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("patch to a name with BEL: %d", resp.StatusCode)
	}
	e.do("GET", "/v2/images/"+img.ID, a.token, nil, 200, &img)
	if img.Name != "ok ✓" {
		t.Fatalf("name %q", img.Name)
	}
}

// TestNoExistenceOracle checks that creating an image with a chosen id
// tells a caller nothing about images it may not see: a stranger's id and
// a fresh one get the same answer; a visible one gets Glance's 409.
func TestNoExistenceOracle(t *testing.T) {
	e := newEnv(t, catalog.Limits{})
	a, b := e.tenant("alice"), e.tenant("bob")
	var img struct{ ID string }
	e.do("POST", "/v2/images", a.token, map[string]any{"name": "private", "visibility": "private"}, 201, &img)
	const fresh = "0b6d1e4a-3c2f-4e59-9a1b-7c8d9e0f1a2b"

	body := func(token, id string, want int) string {
		t.Helper()
		resp := e.raw("POST", "/v2/images", token, "application/json", strings.NewReader(`{"name":"n","id":"`+id+`"}`))
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("create with id %s: %d %s, want %d", id, resp.StatusCode, data, want)
		}
		return string(data)
	}
	if stranger, unused := body(b.token, img.ID, 403), body(b.token, fresh, 403); stranger != unused {
		t.Errorf("a stranger's id answers %s, a fresh one %s", stranger, unused)
	}
	body(a.token, img.ID, 409)
	body(e.admin, img.ID, 409)
	body(e.admin, fresh, 201)

	var log struct {
		Entries []struct{ Action, Reason string }
	}
	e.do("GET", "/v1/audit?limit=1000", e.admin, nil, 200, &log)
	n := 0
	for _, en := range log.Entries {
		if en.Action == "image.create" && en.Reason == "image id chosen by a non-admin" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d denials audited, want 2: %+v", n, log.Entries)
	}
}
