package storetest

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"imgward"
	"imgward/errors"
)

// The projects of the listing tests: a lists, b and c publish.
var pa, pb, pc = projectID(0xa), projectID(0xb), projectID(0xc)

// catalog is the fixture of the visibility tests, in creation order: each
// image is one second newer than the one before. The name says the owner,
// the visibility and a's membership.
var catalog = []struct {
	name    string
	owner   imgward.ProjectID
	vis     imgward.Visibility
	members map[imgward.ProjectID]imgward.MemberStatus
}{
	{"a-private", pa, imgward.Private, nil},
	{"a-shared", pa, imgward.Shared, map[imgward.ProjectID]imgward.MemberStatus{pb: imgward.MemberAccepted}},
	{"a-community", pa, imgward.Community, nil},
	{"a-public", pa, imgward.Public, nil},
	{"b-private", pb, imgward.Private, nil},
	{"b-public", pb, imgward.Public, nil},
	{"b-community", pb, imgward.Community, nil},
	{"b-shared-accepted", pb, imgward.Shared, map[imgward.ProjectID]imgward.MemberStatus{pa: imgward.MemberAccepted}},
	{"b-shared-pending", pb, imgward.Shared, map[imgward.ProjectID]imgward.MemberStatus{pa: imgward.MemberPending}},
	{"b-shared-rejected", pb, imgward.Shared, map[imgward.ProjectID]imgward.MemberStatus{pa: imgward.MemberRejected, pc: imgward.MemberPending}},
	{"b-shared-c", pb, imgward.Shared, map[imgward.ProjectID]imgward.MemberStatus{pc: imgward.MemberAccepted}},
	{"c-public", pc, imgward.Public, nil},
}

func createCatalog(t *testing.T, s imgward.Store) {
	update(t, s, func(tx imgward.Tx) error {
		for i, c := range catalog {
			img := newImage(i, c.owner, c.vis, at(i))
			img.Name = c.name
			if c.name == "c-public" {
				img.Status = imgward.StatusQueued
			}
			if err := tx.CreateImage(ctx(t), img); err != nil {
				return err
			}
			for p, st := range c.members {
				m := &imgward.Member{ImageID: img.ID, MemberID: p, Status: st, CreatedAt: at(i)}
				if err := tx.CreateMember(ctx(t), m); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func testListImagesVisibility(t *testing.T, s imgward.Store) {
	createCatalog(t, s)
	own := "a-private a-shared a-community a-public "
	tests := []struct {
		name string
		f    imgward.ImageFilter
		want string // names, in any order: the expected order is newest first
	}{
		{"default", imgward.ImageFilter{Viewer: pa},
			own + "b-public c-public b-shared-accepted"},
		{"default pending", imgward.ImageFilter{Viewer: pa, MemberStatus: "pending"},
			own + "b-public c-public b-shared-pending"},
		{"default all", imgward.ImageFilter{Viewer: pa, MemberStatus: "all"},
			own + "b-public c-public b-shared-accepted b-shared-pending b-shared-rejected"},
		{"public", imgward.ImageFilter{Viewer: pa, Visibility: imgward.Public}, "a-public b-public c-public"},
		{"community", imgward.ImageFilter{Viewer: pa, Visibility: imgward.Community}, "a-community b-community"},
		{"private", imgward.ImageFilter{Viewer: pa, Visibility: imgward.Private}, "a-private"},
		{"shared", imgward.ImageFilter{Viewer: pa, Visibility: imgward.Shared}, "a-shared b-shared-accepted"},
		{"shared rejected", imgward.ImageFilter{Viewer: pa, Visibility: imgward.Shared, MemberStatus: "rejected"},
			"a-shared b-shared-rejected"},
		{"shared all", imgward.ImageFilter{Viewer: pa, Visibility: imgward.Shared, MemberStatus: "all"},
			"a-shared b-shared-accepted b-shared-pending b-shared-rejected"},
		{"owner", imgward.ImageFilter{Viewer: pa, Owner: pb}, "b-public b-shared-accepted"},
		{"owner private", imgward.ImageFilter{Viewer: pa, Owner: pb, Visibility: imgward.Private}, ""},
		{"name", imgward.ImageFilter{Viewer: pa, Name: "b-public"}, "b-public"},
		{"name invisible", imgward.ImageFilter{Viewer: pa, Name: "b-private"}, ""},
		{"status", imgward.ImageFilter{Viewer: pa, Status: imgward.StatusQueued}, "c-public"},
		{"other viewer", imgward.ImageFilter{Viewer: pc},
			"c-public a-public b-public b-shared-c"},
		{"other viewer pending", imgward.ImageFilter{Viewer: pc, Visibility: imgward.Shared, MemberStatus: "pending"},
			"b-shared-rejected"},
		{"stranger", imgward.ImageFilter{Viewer: projectID(0xd)}, "a-public b-public c-public"},
		{"admin", imgward.ImageFilter{Viewer: pc, Admin: true, MemberStatus: "pending"}, allNames()},
		{"admin shared", imgward.ImageFilter{Admin: true, Visibility: imgward.Shared},
			"a-shared b-shared-accepted b-shared-pending b-shared-rejected b-shared-c"},
		{"admin private owner", imgward.ImageFilter{Admin: true, Visibility: imgward.Private, Owner: pb}, "b-private"},
	}
	view(t, s, func(tx imgward.Tx) error {
		for _, tt := range tests {
			imgs, err := tx.ListImages(ctx(t), tt.f)
			if err != nil {
				t.Errorf("%s: ListImages: %v", tt.name, err)
				continue
			}
			got := []string{}
			for _, img := range imgs {
				got = append(got, img.Name)
			}
			if diff := cmp.Diff(newestFirst(tt.want), got); diff != "" {
				t.Errorf("%s: ListImages(%+v) (-want +got):\n%s", tt.name, tt.f, diff)
			}
		}
		return nil
	})
}

func allNames() string {
	var names []string
	for _, c := range catalog {
		names = append(names, c.name)
	}
	return strings.Join(names, " ")
}

// newestFirst orders the names of catalog images as a listing must.
func newestFirst(names string) []string {
	set := strings.Fields(names)
	out := []string{}
	for i := len(catalog) - 1; i >= 0; i-- {
		if slices.Contains(set, catalog[i].name) {
			out = append(out, catalog[i].name)
		}
	}
	return out
}

func testListImagesPages(t *testing.T, s imgward.Store) {
	// Twenty images in random order of creation, many sharing a CreatedAt,
	// so that pages must break ties by id.
	var want []imgward.ImageID
	update(t, s, func(tx imgward.Tx) error {
		for _, n := range rand.Perm(20) {
			img := newImage(n, pa, imgward.Public, at(n/4)) // 4 images a second
			if err := tx.CreateImage(ctx(t), img); err != nil {
				return err
			}
		}
		return nil
	})
	for n := 19; n >= 0; n-- { // newest first: later seconds, then higher ids
		want = append(want, imageID(n))
	}
	view(t, s, func(tx imgward.Tx) error {
		for _, limit := range []int{0, 1, 3, 4, 7, 20, 25} {
			got, err := allPages(t, tx, imgward.ImageFilter{Viewer: pb, Limit: limit})
			if err != nil {
				return err
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("limit %d: pages joined (-want +got):\n%s", limit, diff)
			}
		}
		return nil
	})
}

// allPages lists page after page of f.Limit images, each from the last of
// the one before, and returns the ids of all of them in order.
func allPages(t *testing.T, tx imgward.Tx, f imgward.ImageFilter) ([]imgward.ImageID, error) {
	var got []imgward.ImageID
	for page := 0; page <= 21; page++ {
		imgs, err := tx.ListImages(ctx(t), f)
		if err != nil {
			return nil, err
		}
		if f.Limit > 0 && len(imgs) > f.Limit {
			t.Errorf("limit %d: a page of %d images", f.Limit, len(imgs))
		}
		if len(imgs) == 0 {
			break
		}
		got = append(got, ids(imgs)...)
		if f.Limit == 0 {
			break
		}
		f.Marker = imgs[len(imgs)-1].ID
	}
	return got, nil
}

func testListImagesInvalid(t *testing.T, s imgward.Store) {
	createCatalog(t, s)
	bPrivate := imageID(4) // catalog[4]
	tests := map[string]imgward.ImageFilter{
		"absent marker":               {Viewer: pa, Marker: imageID(99)},
		"marker the viewer can't see": {Viewer: pa, Marker: bPrivate},
		"visibility":                  {Viewer: pa, Visibility: "everyone"},
		"member status":               {Viewer: pa, MemberStatus: "maybe"},
		"negative limit":              {Viewer: pa, Limit: -1},
	}
	view(t, s, func(tx imgward.Tx) error {
		for name, f := range tests {
			_, err := tx.ListImages(ctx(t), f)
			wantKind(t, name, err, errors.Invalid)
		}
		// An admin may page from any image.
		imgs, err := tx.ListImages(ctx(t), imgward.ImageFilter{Admin: true, Marker: bPrivate})
		if err != nil {
			return err
		}
		if diff := cmp.Diff([]imgward.ImageID{imageID(3), imageID(2), imageID(1), imageID(0)}, ids(imgs)); diff != "" {
			t.Errorf("admin after b-private (-want +got):\n%s", diff)
		}
		return nil
	})
}
