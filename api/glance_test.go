package api_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha512"
	"encoding/hex"
	"io"
	"slices"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/members"

	"imgward/catalog"
)

// TestGlanceSharing drives the whole sharing life cycle with the OpenStack
// Go SDK: create, upload, download, patch, share, accept, reject, list with
// member_status filters, remove, delete.
func TestGlanceSharing(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, catalog.Limits{})
	alice, bob, carol := e.tenant("alice"), e.tenant("bob"), e.tenant("carol")
	ga, gb, gc := e.glance(alice.token), e.glance(bob.token), e.glance(carol.token)

	img, err := images.Create(ctx, ga, images.CreateOpts{
		Name: "ubuntu-24.04", DiskFormat: "qcow2", ContainerFormat: "bare",
		Tags: []string{"lts"}, Properties: map[string]string{"os_distro": "ubuntu"},
	}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if img.Status != images.ImageStatusQueued || img.Visibility != images.ImageVisibilityShared ||
		img.Owner != alice.project || img.Properties["os_distro"] != "ubuntu" || !slices.Equal(img.Tags, []string{"lts"}) {
		t.Fatalf("created image %+v", img)
	}

	data := bytes.Repeat([]byte("not really a disk "), 50_000)
	if err := imagedata.Upload(ctx, ga, img.ID, bytes.NewReader(data)).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	got, err := images.Get(ctx, ga, img.ID).Extract()
	if err != nil {
		t.Fatal(err)
	}
	sum, sha := md5.Sum(data), sha512.Sum512(data)
	if got.Status != images.ImageStatusActive || got.SizeBytes != int64(len(data)) ||
		got.Checksum != hex.EncodeToString(sum[:]) || got.Properties["os_hash_value"] != hex.EncodeToString(sha[:]) ||
		got.Properties["os_hash_algo"] != "sha512" {
		t.Fatalf("after upload: %+v", got)
	}
	if b := download(t, ga, img.ID); !bytes.Equal(b, data) {
		t.Fatal("owner download differs from upload")
	}
	wantCode(t, "second upload", imagedata.Upload(ctx, ga, img.ID, bytes.NewReader(data)).ExtractErr(), 409)

	// Update by JSON patch: core attributes and custom properties.
	upd, err := images.Update(ctx, ga, img.ID, images.UpdateOpts{
		images.ReplaceImageName{NewName: "ubuntu-noble"},
		images.ReplaceImageMinDisk{NewMinDisk: 10},
		images.UpdateImageProperty{Op: images.AddOp, Name: "hw_disk_bus", Value: "virtio"},
		images.UpdateImageProperty{Op: images.RemoveOp, Name: "os_distro"},
	}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if upd.Name != "ubuntu-noble" || upd.MinDiskGigabytes != 10 || upd.Properties["hw_disk_bus"] != "virtio" || upd.Properties["os_distro"] != nil {
		t.Fatalf("after patch: %+v", upd)
	}

	// Share with bob: pending, visible to him only under member_status=pending.
	m, err := members.Create(ctx, ga, img.ID, bob.project).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != "pending" || m.MemberID != bob.project || m.ImageID != img.ID {
		t.Fatalf("new member %+v", m)
	}
	wantCode(t, "duplicate member", members.Create(ctx, ga, img.ID, bob.project).Err, 409)
	if ids := listIDs(t, gb, images.ListOpts{}); slices.Contains(ids, img.ID) {
		t.Fatal("pending image in bob's default list")
	}
	if ids := listIDs(t, gb, images.ListOpts{MemberStatus: images.ImageMemberStatusPending}); !slices.Contains(ids, img.ID) {
		t.Fatal("pending image missing from member_status=pending")
	}
	if _, err := images.Get(ctx, gb, img.ID).Extract(); err != nil {
		t.Fatalf("pending member cannot see the image: %v", err)
	}
	// Acceptance gates use: a pending member may not download.
	wantCode(t, "pending download", imagedata.Download(ctx, gb, img.ID).Err, 403)
	wantCode(t, "owner accepts for bob", members.Update(ctx, ga, img.ID, bob.project, members.UpdateOpts{Status: "accepted"}).Err, 403)
	wantCode(t, "bad status", members.Update(ctx, gb, img.ID, bob.project, members.UpdateOpts{Status: "maybe"}).Err, 400)

	// Carol is a stranger: the image does not exist for her.
	wantCode(t, "stranger get", images.Get(ctx, gc, img.ID).Err, 404)
	wantCode(t, "stranger download", imagedata.Download(ctx, gc, img.ID).Err, 404)
	_, err = members.List(gc, img.ID).AllPages(ctx)
	wantCode(t, "stranger members", err, 404)
	wantCode(t, "stranger accepts", members.Update(ctx, gc, img.ID, carol.project, members.UpdateOpts{Status: "accepted"}).Err, 404)

	if _, err := members.Update(ctx, gb, img.ID, bob.project, members.UpdateOpts{Status: "accepted"}).Extract(); err != nil {
		t.Fatal(err)
	}
	if ids := listIDs(t, gb, images.ListOpts{}); !slices.Contains(ids, img.ID) {
		t.Fatal("accepted image missing from bob's default list")
	}
	if b := download(t, gb, img.ID); !bytes.Equal(b, data) {
		t.Fatal("member download differs")
	}
	// A member sees only its own entry; the owner sees all.
	members.Create(ctx, ga, img.ID, carol.project)
	if ms := memberIDs(t, gb, img.ID); !slices.Equal(ms, []string{bob.project}) {
		t.Fatalf("bob sees members %v", ms)
	}
	if ms := memberIDs(t, ga, img.ID); len(ms) != 2 {
		t.Fatalf("alice sees members %v", ms)
	}
	wantCode(t, "member removes", members.Delete(ctx, gb, img.ID, carol.project).ExtractErr(), 403)

	// Reject: use stops again.
	if _, err := members.Update(ctx, gb, img.ID, bob.project, members.UpdateOpts{Status: "rejected"}).Extract(); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "rejected download", imagedata.Download(ctx, gb, img.ID).Err, 403)
	if ids := listIDs(t, gb, images.ListOpts{MemberStatus: images.ImageMemberStatusRejected}); !slices.Contains(ids, img.ID) {
		t.Fatal("rejected image missing from member_status=rejected")
	}
	if ids := listIDs(t, gb, images.ListOpts{MemberStatus: images.ImageMemberStatusAll}); !slices.Contains(ids, img.ID) {
		t.Fatal("image missing from member_status=all")
	}

	// Removal: the image vanishes for bob.
	if err := members.Delete(ctx, ga, img.ID, bob.project).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "removed member get", images.Get(ctx, gb, img.ID).Err, 404)
	wantCode(t, "removed member again", members.Delete(ctx, ga, img.ID, bob.project).ExtractErr(), 404)

	// Protected images cannot be deleted until unprotected.
	if _, err := images.Update(ctx, ga, img.ID, images.UpdateOpts{images.ReplaceImageProtected{NewProtected: true}}).Extract(); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "delete protected", images.Delete(ctx, ga, img.ID).ExtractErr(), 403)
	images.Update(ctx, ga, img.ID, images.UpdateOpts{images.ReplaceImageProtected{NewProtected: false}})
	wantCode(t, "member deletes", images.Delete(ctx, gc, img.ID).ExtractErr(), 403)
	if err := images.Delete(ctx, ga, img.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "get deleted", images.Get(ctx, ga, img.ID).Err, 404)
}

func download(t *testing.T, c glanceClient, id string) []byte {
	t.Helper()
	r, err := imagedata.Download(context.Background(), c, id).Extract()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func listIDs(t *testing.T, c glanceClient, opts images.ListOpts) []string {
	t.Helper()
	pages, err := images.List(c, opts).AllPages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	imgs, err := images.ExtractImages(pages)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, i := range imgs {
		ids = append(ids, i.ID)
	}
	return ids
}

func memberIDs(t *testing.T, c glanceClient, id string) []string {
	t.Helper()
	pages, err := members.List(c, id).AllPages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ms, err := members.ExtractMembers(pages)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range ms {
		ids = append(ids, m.MemberID)
	}
	return ids
}
