package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"imgward"
)

// TestFetch runs the launch path of a protected image through the CLI:
// create --protect full, launch --identity-out, fetch as the host; a
// second fetch with the same document is refused with the broker's reason.
func TestFetch(t *testing.T) {
	alice, bob, bobProject := twoTenants(t)

	alice.fails(exitUsage, "want none, full, sensitive or luks", "image", "create", "x", "--protect", "half")
	dir := t.TempDir()
	img, data := sharedFull(t, alice, bob, bobProject, dir)
	id := img["id"].(string)
	if img["imgward_protect"] != "full" {
		t.Errorf("created image %v", img)
	}

	idFile := filepath.Join(dir, "i1.identity")
	bob.ok("instance", "launch", id, "--host", "hv1", "--identity-out", idFile)
	if fi, err := os.Stat(idFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("identity file: %v, mode %v", err, fi.Mode())
	}
	sealed := filepath.Join(dir, "sealed")
	bob.ok("image", "download", id, "--out", sealed)
	if b, _ := os.ReadFile(sealed); !bytes.HasPrefix(b, []byte("IMGWSEAL")) {
		t.Error("a member's download is not sealed")
	}
	out := filepath.Join(dir, "x.plain")
	bob.ok("image", "fetch", id, "--identity", idFile, "--out", out)
	if b, _ := os.ReadFile(out); !bytes.Equal(b, data) {
		t.Errorf("fetched %d bytes, not the %d uploaded", len(b), len(data))
	}
	again := filepath.Join(dir, "again")
	bob.fails(exitPermission, "error: identity document already used", "image", "fetch", id, "--identity", idFile, "--out", again)
	if _, err := os.Stat(again); !os.IsNotExist(err) {
		t.Errorf("a refused fetch left %s", again)
	}
	_, stderr, _ := bob.run(nil, "image", "fetch", id)
	if !strings.Contains(stderr, "--identity FILE and --out FILE are required") {
		t.Errorf("fetch without flags: %q", stderr)
	}
}

// sharedFull makes an image of alice with imgward_protect full, uploads
// 200 KiB of random data (written under dir) and shares it with bob, who
// accepts; it returns the image as created and the data.
func sharedFull(t *testing.T, alice, bob user, bobProject, dir string) (obj, []byte) {
	t.Helper()
	var img obj
	alice.json(&img, "image", "create", "x", "--protect", "full", "--disk-format", "raw")
	id := img["id"].(string)
	data := make([]byte, 200<<10)
	rand.Read(data)
	file := filepath.Join(dir, "x.raw")
	os.WriteFile(file, data, 0o600)
	alice.ok("image", "upload", id, file)
	alice.ok("image", "share", id, bobProject)
	bob.ok("image", "accept", id)
	return img, data
}

// twoTenants starts a server with two projects, alice-corp and bob-corp,
// and a user in each: the cast of the fetch tests.
func twoTenants(t *testing.T) (alice, bob user, bobProject string) {
	t.Helper()
	url, adminToken := startServer(t)
	return tenantsOn(t, url, adminToken)
}

// tenantsOn makes twoTenants' cast on the server at url.
func tenantsOn(t *testing.T, url, adminToken string) (alice, bob user, bobProject string) {
	t.Helper()
	admin := user{t, url, adminToken}
	var pa, pb, ua, ub obj
	admin.json(&pa, "project", "create", "alice-corp")
	admin.json(&pb, "project", "create", "bob-corp")
	admin.json(&ua, "user", "create", "alice", "--project", pa["id"].(string))
	admin.json(&ub, "user", "create", "bob", "--project", pb["id"].(string))
	return user{t, url, ua["token"].(string)}, user{t, url, ub["token"].(string)}, pb["id"].(string)
}

// TestFetchQuarantined: while its publisher is quarantined, an accepted
// member's host fetches nothing of a protected image (key or data), nor
// does the member download it; the owner's host still fetches; once
// cleared, the member's host fetches again.
func TestFetchQuarantined(t *testing.T) {
	svc, url := startService(t)
	alice, bob, bobProject := tenantsOn(t, url, svc.AdminToken)
	dir := t.TempDir()
	img, data := sharedFull(t, alice, bob, bobProject, dir)
	id, owner := img["id"].(string), img["owner"].(string)
	launch := func(u user, name string) string {
		f := filepath.Join(dir, name)
		u.ok("instance", "launch", id, "--host", "hv1", "--identity-out", f)
		return f
	}
	bobDoc, aliceDoc := launch(bob, "bob.identity"), launch(alice, "alice.identity")

	quarantine := func(on bool) {
		err := svc.Store.Update(context.Background(), func(tx imgward.Tx) error {
			_, err := tx.SetQuarantine(context.Background(), imgward.ProjectID(owner), on)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	quarantine(true)
	out := filepath.Join(dir, "bob.plain")
	bob.fails(exitPermission, "image quarantined: publisher flagged", "image", "fetch", id, "--identity", bobDoc, "--out", out)
	bob.fails(exitPermission, "image quarantined: publisher flagged", "image", "download", id, "--out", out)
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a refused fetch or download left %s", out)
	}
	mine := filepath.Join(dir, "alice.plain")
	alice.ok("image", "fetch", id, "--identity", aliceDoc, "--out", mine)
	if b, _ := os.ReadFile(mine); !bytes.Equal(b, data) {
		t.Error("the owner's fetch of her quarantined image differs from the upload")
	}

	quarantine(false)
	bob.ok("image", "fetch", id, "--identity", launch(bob, "bob2.identity"), "--out", out)
	if b, _ := os.ReadFile(out); !bytes.Equal(b, data) {
		t.Error("the member's fetch after the clear differs from the upload")
	}
}
