package server_test

import (
	"archive/tar"
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"imgward/catalog"
	"imgward/seal"
	"imgward/seal/sensitive"
)

// secrets are the sensitive files added to a random rootfs: what a robber
// would take from an image whose other files he may inspect.
var secrets = []file{
	{"etc/shadow", []byte("root:$6$salt$0123456789abcdefghij:19000:0:99999:7:::\n")},
	{"etc/ssh/ssh_host_ed25519_key", []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk=\n-----END OPENSSH PRIVATE KEY-----\n")},
	{"root/.aws/credentials", []byte("[default]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = s3cr3tV4lu3\n")},
}

// TestRobberySensitive is the robbery story for an image of which only the
// sensitive files are sealed: everyone who may use it can inspect the
// rest, and the secrets open only for a bound instance.
func TestRobberySensitive(t *testing.T) { robberySensitive(t, newCloud(t)) }

// TestRobberySensitivePostgres is the story with the store of several nodes.
func TestRobberySensitivePostgres(t *testing.T) {
	robberySensitive(t, newPostgresCloud(t))
}

func robberySensitive(t *testing.T, c *cloud) {
	_, aliceTok := c.tenant("alice")
	bob, bobTok := c.tenant("bob")
	carol, carolTok := c.tenant("carol")

	files := append(rootfs(3, 40), secrets...)
	plain := tarOf(t, files, time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))

	// Input that is no tar, or holds nothing to seal, is refused with the
	// reason, and the image stays queued for a proper upload.
	x := c.create(aliceTok, map[string]any{"imgward_protect": "sensitive"})
	for _, tt := range []struct {
		data []byte
		msg  string
	}{
		{bytes.Repeat([]byte("qcow"), 1000), "needs a root filesystem tar"},
		{tarOf(t, rootfs(4, 5), time.Now()), "no sensitive entries found"},
	} {
		r := c.call("PUT", "/v2/images/"+x+"/file", aliceTok, tt.data, 400, nil)
		var img struct{ Status string }
		c.call("GET", "/v2/images/"+x, aliceTok, nil, 200, &img)
		if !strings.Contains(r.message(), tt.msg) || img.Status != "queued" {
			t.Errorf("bad upload: %q, image %s; want %q, queued", r.message(), img.Status, tt.msg)
		}
	}
	c.call("PUT", "/v2/images/"+x+"/file", aliceTok, plain, 204, nil)
	c.share(aliceTok, x, bob, bobTok)

	// Bob's download: the secrets sealed, the rest as Alice packed it.
	got := c.call("GET", "/v2/images/"+x+"/file", bobTok, nil, 200, nil)
	if f := got.header.Get("X-Imgward-Sealed"); f != catalog.SealedSensitive {
		t.Fatalf("member's download: X-Imgward-Sealed %q", f)
	}
	partly := got.body
	inside := untar(t, partly)
	for _, f := range files {
		secret := isSecret(f.name)
		if secret == bytes.Equal(inside[f.name], f.data) {
			t.Errorf("%s: secret %v, but the member sees it in the clear: %v", f.name, secret, !secret)
		}
		if secret && bytes.Contains(partly, f.data) {
			t.Errorf("%s: plaintext in the member's download", f.name)
		}
	}
	// Alice exports her rootfs: every entry's content as uploaded.
	export := c.call("GET", "/v2/images/"+x+"/file", aliceTok, nil, 200, nil)
	checkEntries(t, "owner's export", export.body, files)

	// Bob's instance gets the key, and it opens every sealed entry.
	_, id1 := c.launch(bobTok, x)
	r, key := c.release(id1, x)
	if r.code != 200 {
		t.Fatalf("release to Bob's i-1: %d %s", r.code, r.body)
	}
	var opened bytes.Buffer
	h, err := sensitive.UnsealSensitive(&opened, bytes.NewReader(partly), key)
	if err != nil || string(h.ImageID) != x {
		t.Fatalf("released key on the sealed entries: %v, header %+v", err, h)
	}
	checkEntries(t, "host's unsealed rootfs", opened.Bytes(), files)

	deny := func(name string, r *response, code int, msg string) {
		t.Helper()
		if r.code != code || !strings.Contains(r.message(), msg) {
			t.Errorf("%s: %d %q, want %d %q", name, r.code, r.message(), code, msg)
		}
	}
	r, _ = c.release(id1, x)
	deny("replayed document", r, 403, "identity document already used")
	i2, id2 := c.launch(bobTok, x)
	c.call("DELETE", "/v1/instances/"+i2, bobTok, nil, 200, nil)
	r, _ = c.release(id2, x)
	deny("terminated instance", r, 403, "instance is terminated")

	// Bob passes the partly sealed tar on as his own image, to Carol: it is
	// flagged as taken from X and made private, so that Carol may not even
	// launch it, and Bob's own instance of it gets no key.
	y := c.create(bobTok, nil)
	c.share(bobTok, y, carol, carolTok)
	c.call("PUT", "/v2/images/"+y+"/file", bobTok, partly, 204, nil)
	c.call("POST", "/v1/instances", carolTok, map[string]string{"image_id": y, "host": "compute-1"}, 404, nil)
	_, by := c.launch(bobTok, y)
	r, _ = c.release(by, y)
	deny("Bob's instance of the re-upload", r, 403, "image is not protected")
	var flags struct{ Flags []map[string]any }
	c.call("GET", "/v1/flags", c.admin, nil, 200, &flags)
	if len(flags.Flags) != 1 || flags.Flags[0]["image_id"] != y || flags.Flags[0]["derived_from"] != x {
		t.Errorf("flags after the re-upload: %v", flags.Flags)
	}
	// Nor can he seal it anew under a key of his own: nothing in it is
	// left to seal, and the sealed entries are not his.
	z := c.create(bobTok, map[string]any{"imgward_protect": "sensitive", "visibility": "private"})
	r = c.call("PUT", "/v2/images/"+z+"/file", bobTok, partly, 400, nil)
	deny("re-sealing the partly sealed tar", r, 400, "no sensitive entries found")
}

func isSecret(name string) bool {
	for _, s := range secrets {
		if s.name == name {
			return true
		}
	}
	return false
}

// untar returns the content of each regular entry of a tar.
func untar(t *testing.T, data []byte) map[string][]byte {
	t.Helper()
	m := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return m
		}
		if err != nil {
			t.Fatalf("not a tar: %v", err)
		}
		m[h.Name], _ = io.ReadAll(tr)
	}
}

// checkEntries checks that data is a tar of exactly files, in content.
func checkEntries(t *testing.T, what string, data []byte, files []file) {
	t.Helper()
	got := untar(t, data)
	if len(got) != len(files) {
		t.Errorf("%s: %d entries, want %d", what, len(got), len(files))
	}
	for _, f := range files {
		if !bytes.Equal(got[f.name], f.data) {
			t.Errorf("%s: %s differs", what, f.name)
		}
	}
	if bytes.Contains(data, []byte(seal.Magic)) {
		t.Errorf("%s: still holds a sealed blob", what)
	}
}
