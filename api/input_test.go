package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/members"

	"imgward/catalog"
)

// TestBadInput checks that malformed, mistyped and oversized requests get a
// 4xx JSON error and change nothing.
func TestBadInput(t *testing.T) {
	e := newEnv(t, catalog.Limits{})
	alice := e.tenant("alice")
	var img struct{ ID string }
	e.do("POST", "/v2/images", alice.token, map[string]any{"name": "x", "disk_format": "raw", "container_format": "bare"}, 201, &img)
	patch := "application/openstack-images-v2.1-json-patch"
	tests := []struct {
		name, method, path, ctype, body string
		want                            int
	}{
		{"malformed json", "POST", "/v2/images", "application/json", `{"name":`, 400},
		{"json array", "POST", "/v2/images", "application/json", `[1]`, 400},
		{"trailing data", "POST", "/v2/images", "application/json", `{} {}`, 400},
		{"wrong content type", "POST", "/v2/images", "text/plain", `{}`, 415},
		{"no content type", "POST", "/v1/instances", "", `{}`, 415},
		{"oversized body", "POST", "/v2/images", "application/json", `{"name":"` + strings.Repeat("a", 2<<20) + `"}`, 413},
		{"bad visibility", "POST", "/v2/images", "application/json", `{"visibility":"everyone"}`, 400},
		{"non-admin public", "POST", "/v2/images", "application/json", `{"visibility":"public"}`, 403},
		{"bad disk format", "POST", "/v2/images", "application/json", `{"disk_format":"exe"}`, 400},
		{"negative min_ram", "POST", "/v2/images", "application/json", `{"min_ram":-1}`, 400},
		{"fractional min_disk", "POST", "/v2/images", "application/json", `{"min_disk":1.5}`, 400},
		{"non-string property", "POST", "/v2/images", "application/json", `{"foo":1}`, 400},
		{"reserved property", "POST", "/v2/images", "application/json", `{"os_glance_x":"1"}`, 403},
		{"set status", "POST", "/v2/images", "application/json", `{"status":"active"}`, 403},
		{"bad id", "POST", "/v2/images", "application/json", `{"id":"not-a-uuid"}`, 400},
		{"bad uuid get", "GET", "/v2/images/not-a-uuid", "", ``, 404},
		{"unknown uuid get", "GET", "/v2/images/3b8e1c54-6a0e-4f11-9a7c-2f1a4f6f0c11", "", ``, 404},
		{"patch wrong type", "PATCH", "/v2/images/" + img.ID, "application/json", `[]`, 415},
		{"patch status", "PATCH", "/v2/images/" + img.ID, patch, `[{"op":"replace","path":"/status","value":"active"}]`, 403},
		{"patch checksum", "PATCH", "/v2/images/" + img.ID, patch, `[{"op":"add","path":"/checksum","value":"00"}]`, 403},
		{"patch bad op", "PATCH", "/v2/images/" + img.ID, patch, `[{"op":"move","path":"/name","value":"y"}]`, 400},
		{"patch deep path", "PATCH", "/v2/images/" + img.ID, patch, `[{"op":"add","path":"/a/b","value":"y"}]`, 400},
		{"patch bad visibility", "PATCH", "/v2/images/" + img.ID, patch, `[{"op":"replace","path":"/visibility","value":"nobody"}]`, 400},
		{"patch public", "PATCH", "/v2/images/" + img.ID, patch, `[{"op":"replace","path":"/visibility","value":"public"}]`, 403},
		{"patch remove core", "PATCH", "/v2/images/" + img.ID, patch, `[{"op":"remove","path":"/name"}]`, 403},
		{"patch remove missing", "PATCH", "/v2/images/" + img.ID, patch, `[{"op":"remove","path":"/nope"}]`, 409},
		{"patch unknown field", "PATCH", "/v2/images/" + img.ID, patch, `[{"op":"add","path":"/x","value":"1","extra":1}]`, 400},
		{"upload wrong type", "PUT", "/v2/images/" + img.ID + "/file", "application/json", `{}`, 415},
		{"member of private", "POST", "/v2/images/" + img.ID + "/members", "application/json", `{"member":"x"}`, 400},
		{"member unknown field", "POST", "/v2/images/" + img.ID + "/members", "application/json", `{"member":"x","y":1}`, 400},
		{"list bad visibility", "GET", "/v2/images?visibility=all-of-them", "", ``, 400},
		{"list bad member_status", "GET", "/v2/images?member_status=maybe", "", ``, 400},
		{"list bad limit", "GET", "/v2/images?limit=-3", "", ``, 400},
		{"list bad marker", "GET", "/v2/images?marker=3b8e1c54-6a0e-4f11-9a7c-2f1a4f6f0c11", "", ``, 400},
		{"launch bad image", "POST", "/v1/instances", "application/json", `{"image_id":"zzz"}`, 404},
		{"launch queued image", "POST", "/v1/instances", "application/json", `{"image_id":"` + img.ID + `"}`, 409},
		{"unknown route", "GET", "/v3/images", "", ``, 404},
		{"wrong method", "POST", "/v2/images/" + img.ID, "application/json", `{}`, 405},
	}
	// The image is private for the "member of private" case; it is 400 there
	// because the member project does not exist, and 403 once it does.
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := e.raw(tt.method, tt.path, alice.token, tt.ctype, strings.NewReader(tt.body))
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.want, body)
			}
			var eb struct {
				Error struct {
					Code    int
					Message string
				}
			}
			if err := json.Unmarshal(body, &eb); err != nil || eb.Error.Code != tt.want || eb.Error.Message == "" {
				t.Fatalf("error body %q is not a JSON error (%v)", body, err)
			}
		})
	}
	// Nothing changed: the one image is as it was.
	var got map[string]any
	e.do("GET", "/v2/images/"+img.ID, alice.token, nil, 200, &got)
	if got["status"] != "queued" || got["visibility"] != "shared" || got["name"] != "x" || got["checksum"] != nil {
		t.Fatalf("image changed by bad requests: %v", got)
	}
	var list struct{ Images []map[string]any }
	e.do("GET", "/v2/images", alice.token, nil, 200, &list)
	if len(list.Images) != 1 {
		t.Fatalf("bad requests created images: %d", len(list.Images))
	}
}

// brokenBody fails after some bytes, like a client that goes away mid-upload.
// If before is set, it runs once before the failure.
type brokenBody struct {
	n      int
	before func()
}

func (b *brokenBody) Read(p []byte) (int, error) {
	if b.n <= 0 {
		if b.before != nil {
			b.before()
			b.before = nil
		}
		return 0, errors.New("connection reset")
	}
	n := min(len(p), b.n)
	for i := range p[:n] {
		p[i] = 'x'
	}
	b.n -= n
	return n, nil
}

// TestUploadBreaksOff checks that an interrupted upload leaves the image
// queued, with no data, and that a later upload succeeds.
func TestUploadBreaksOff(t *testing.T) {
	e := newEnv(t, catalog.Limits{MaxImageSize: 1 << 20})
	alice := e.tenant("alice")
	var img struct{ ID string }
	e.do("POST", "/v2/images", alice.token, map[string]any{"disk_format": "raw", "container_format": "bare"}, 201, &img)

	// The body breaks only once the server has begun the upload (the image
	// is saving): else the client could see its error before the server
	// even read the request, checkQueued find the image still queued from
	// before, and the late upload collide with the next ones.
	// It runs on the client's transport goroutine: no t.Fatal there.
	saving := func() {
		for range 1000 {
			r, _ := http.NewRequest("GET", e.url+"/v2/images/"+img.ID, nil)
			r.Header.Set("X-Auth-Token", alice.token)
			var got struct{ Status string }
			if resp, err := http.DefaultClient.Do(r); err == nil {
				json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&got)
				resp.Body.Close()
			}
			if got.Status == "saving" {
				return
			}
			waitABit()
		}
		t.Errorf("the upload never began")
	}
	req, _ := http.NewRequest("PUT", e.url+"/v2/images/"+img.ID+"/file", io.NopCloser(&brokenBody{n: 300_000, before: saving}))
	req.Header.Set("X-Auth-Token", alice.token)
	req.Header.Set("Content-Type", "application/octet-stream")
	req.ContentLength = 1_000_000
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		if resp.StatusCode < 400 {
			t.Fatalf("broken upload answered %d", resp.StatusCode)
		}
	}
	checkQueued := func(what string) {
		t.Helper()
		var got map[string]any
		// The server settles the record after the connection dropped; wait
		// for it by polling the status, never by sleeping a fixed time.
		for range 200 {
			e.do("GET", "/v2/images/"+img.ID, alice.token, nil, 200, &got)
			if got["status"] != "saving" {
				break
			}
			waitABit()
		}
		if got["status"] != "queued" || got["size"] != nil || got["checksum"] != nil {
			t.Fatalf("%s: image is %v", what, got)
		}
		resp := e.raw("GET", "/v2/images/"+img.ID+"/file", alice.token, "", nil)
		resp.Body.Close()
		if resp.StatusCode != 204 {
			t.Fatalf("%s: download status %d, want 204", what, resp.StatusCode)
		}
	}
	checkQueued("broken upload")

	over := e.raw("PUT", "/v2/images/"+img.ID+"/file", alice.token, "application/octet-stream", bytes.NewReader(make([]byte, 2<<20)))
	over.Body.Close()
	if over.StatusCode != 413 {
		t.Fatalf("oversized upload: %d", over.StatusCode)
	}
	checkQueued("oversized upload")

	ok := e.raw("PUT", "/v2/images/"+img.ID+"/file", alice.token, "application/octet-stream", strings.NewReader("fine"))
	ok.Body.Close()
	if ok.StatusCode != 204 {
		t.Fatalf("good upload after failures: %d", ok.StatusCode)
	}
}

// TestPaginationAndFilters lists through gophercloud's pager, which follows
// the next links, and checks Glance's visibility rules for listings.
func TestPaginationAndFilters(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, catalog.Limits{})
	alice, bob := e.tenant("alice"), e.tenant("bob")
	ga, gb := e.glance(alice.token), e.glance(bob.token)
	var want []string
	for i := range 7 {
		vis := images.ImageVisibilityPrivate
		if i%2 == 0 {
			vis = images.ImageVisibilityCommunity
		}
		img, err := images.Create(ctx, ga, images.CreateOpts{Name: "img", Visibility: &vis}).Extract()
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, img.ID)
	}
	pages := 0
	err := images.List(ga, images.ListOpts{Limit: 2}).EachPage(ctx, func(_ context.Context, p paginationPage) (bool, error) {
		pages++
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := listIDs(t, ga, images.ListOpts{Limit: 2}); len(got) != 7 || pages < 4 {
		t.Fatalf("paged list: %d images in %d pages", len(got), pages)
	}
	// Bob sees alice's community images only when he asks for them.
	if got := listIDs(t, gb, images.ListOpts{}); len(got) != 0 {
		t.Fatalf("bob's default list: %v", got)
	}
	if got := listIDs(t, gb, images.ListOpts{Visibility: images.ImageVisibilityCommunity}); len(got) != 4 {
		t.Fatalf("bob's community list: %d", len(got))
	}
	if got := listIDs(t, gb, images.ListOpts{Visibility: images.ImageVisibilityPrivate}); len(got) != 0 {
		t.Fatalf("bob sees private images: %v", got)
	}
	if got := listIDs(t, ga, images.ListOpts{Owner: alice.project, Visibility: images.ImageVisibilityPrivate}); len(got) != 3 {
		t.Fatalf("alice's private list: %d", len(got))
	}
	// Private images cannot have members.
	wantCode(t, "member of private", members.Create(ctx, ga, want[1], bob.project).Err, 403)
	// Quota: the admin can list everything.
	if got := listIDs(t, e.glance(e.admin), images.ListOpts{}); len(got) != 7 {
		t.Fatalf("admin list: %d", len(got))
	}
}

// TestMemberQuota checks the 413 of a full member list.
func TestMemberQuota(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, catalog.Limits{Members: 2})
	alice := e.tenant("alice")
	ga := e.glance(alice.token)
	img, err := images.Create(ctx, ga, images.CreateOpts{Name: "q"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"m1", "m2", "m3"} {
		err := members.Create(ctx, ga, img.ID, e.tenant(name).project).Err
		if i < 2 && err != nil {
			t.Fatal(err)
		}
		if i == 2 {
			wantCode(t, "over quota", err, 413)
		}
	}
}
