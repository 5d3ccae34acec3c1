package server_test

import (
	"context"
	"strings"
	"testing"

	"imgward"
	"imgward/catalog"
)

// TestQuarantineBlocksData is issue 11's "quarantine does not stop a
// download": while a publisher is flagged, its images' data and keys go to
// nobody but the owner and admins, on every route, and each refusal is
// audited with its reason; clearing the flag gives them back.
func TestQuarantineBlocksData(t *testing.T) { quarantineBlocksData(t, newCloud(t)) }

// TestQuarantineBlocksDataPostgres is the same on the store of several nodes.
func TestQuarantineBlocksDataPostgres(t *testing.T) {
	quarantineBlocksData(t, newPostgresCloud(t))
}

func quarantineBlocksData(t *testing.T, c *cloud) {
	alice, aliceTok := c.tenant("alice")
	bob, bobTok := c.tenant("bob")
	plain := c.image(aliceTok, nil, []byte("plain data"))
	full := c.image(aliceTok, map[string]any{"imgward_protect": "full"}, []byte("sealed data"))
	sens := c.image(aliceTok, map[string]any{"imgward_protect": "sensitive"},
		tarOf(t, append(rootfs(5, 3), secrets...), c.clock()))
	luks := c.create(aliceTok, map[string]any{"imgward_protect": "luks", "disk_format": "qcow2"})
	c.call("PUT", "/v2/images/"+luks+"/file", aliceTok, luksHead(2), 204, nil)
	images := map[string]string{"plain": plain, "full": full, "sensitive": sens, "luks": luks}
	var admin struct {
		ProjectID string `json:"project_id"`
	}
	c.call("GET", "/v1/whoami", c.admin, nil, 200, &admin)
	for _, id := range images {
		c.share(aliceTok, id, bob, bobTok)
		c.share(aliceTok, id, admin.ProjectID, c.admin)
	}
	// Instances launched before the flag, as a fleet's are.
	docs := func(tok string) map[string]string {
		m := map[string]string{}
		for _, mode := range []string{"full", "luks"} {
			_, doc := c.launch(tok, images[mode])
			m[mode] = doc
		}
		return m
	}
	bobDocs, aliceDocs, adminDocs := docs(bobTok), docs(aliceTok), docs(c.admin)

	setQuarantine(t, c, alice, true)
	for mode, id := range images {
		r := c.do("GET", "/v2/images/"+id+"/file", bobTok, nil)
		if r.code != 403 || !strings.Contains(r.message(), catalog.Quarantined) {
			t.Errorf("member downloads the quarantined %s image: %d %s", mode, r.code, r.body)
		}
		for who, tok := range map[string]string{"owner": aliceTok, "admin": c.admin} {
			if r := c.do("GET", "/v2/images/"+id+"/file", tok, nil); r.code != 200 {
				t.Errorf("%s downloads the quarantined %s image: %d %s", who, mode, r.code, r.body)
			}
		}
	}
	for mode, doc := range bobDocs {
		// Key release of a sealed image, and of a LUKS disk's secret.
		if r, _ := c.release(doc, images[mode]); r.code != 403 || r.message() != catalog.Quarantined {
			t.Errorf("release of the quarantined %s image to a member's instance: %d %s", mode, r.code, r.body)
		}
	}
	for who, ds := range map[string]map[string]string{"owner": aliceDocs, "admin": adminDocs} {
		for mode, doc := range ds {
			if r, key := c.release(doc, images[mode]); r.code != 200 || len(key) != 32 {
				t.Errorf("release of the quarantined %s image to the %s's instance: %d %s", mode, who, r.code, r.body)
			}
		}
	}
	var denials []auditEntry
	for _, e := range auditEntries(t, c) {
		if e.Result == "denied" && e.Reason == catalog.Quarantined {
			denials = append(denials, e)
		}
	}
	if n := count(denials, "image.download"); n != len(images) {
		t.Errorf("%d audited download denials for the quarantine, want %d", n, len(images))
	}
	if n := count(denials, "key.release"); n != len(bobDocs) {
		t.Errorf("%d audited key.release denials for the quarantine, want %d", n, len(bobDocs))
	}

	// Cleared: the member downloads and its new instances get keys again.
	setQuarantine(t, c, alice, false)
	for mode, id := range images {
		if r := c.do("GET", "/v2/images/"+id+"/file", bobTok, nil); r.code != 200 {
			t.Errorf("member downloads the cleared %s image: %d %s", mode, r.code, r.body)
		}
	}
	for mode, doc := range docs(bobTok) {
		if r, _ := c.release(doc, images[mode]); r.code != 200 {
			t.Errorf("release of the cleared %s image to a member's instance: %d %s", mode, r.code, r.body)
		}
	}
}

// setQuarantine quarantines, or releases, every image of owner as a
// detection run's flag (and an admin's clear) does.
func setQuarantine(t *testing.T, c *cloud, owner string, on bool) {
	t.Helper()
	err := c.svc.Store.Update(context.Background(), func(tx imgward.Tx) error {
		_, err := tx.SetQuarantine(context.Background(), imgward.ProjectID(owner), on)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func count(es []auditEntry, action string) int {
	n := 0
	for _, e := range es {
		if e.Action == action {
			n++
		}
	}
	return n
}
