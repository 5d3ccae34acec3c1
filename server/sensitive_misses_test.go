package server_test

import (
	"archive/tar"
	"bytes"
	"strings"
	"testing"
	"time"

	"imgward/catalog"
	"imgward/seal/sensitive/sensitivetest"
)

// TestSensitiveMisses uploads, for each kind of secret that sensitive
// sealing once let through (issue 11), an image holding it, and checks
// that an accepted member's download does not hold it in the clear; and
// that the archives it cannot seal safely are refused with the reason,
// leaving the image queued.
func TestSensitiveMisses(t *testing.T) { sensitiveMisses(t, newCloud(t)) }

// TestSensitiveMissesPostgres is the same on the store of several nodes.
func TestSensitiveMissesPostgres(t *testing.T) { sensitiveMisses(t, newPostgresCloud(t)) }

func sensitiveMisses(t *testing.T, c *cloud) {
	_, aliceTok := c.tenant("alice")
	bob, bobTok := c.tenant("bob")
	when := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	shadow := []byte("root:$6$abcdefgh$0123456789abcdefghijklmnop:19000:0:99999:7:::\n")
	netrc := []byte("machine db.example login app password hunter2hunter2\n")
	hostKey := file{"etc/ssh/ssh_host_ed25519_key", []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk=\n-----END OPENSSH PRIVATE KEY-----\n")}

	type entry struct {
		name string
		data []byte
		link string // a hard link to this entry
	}
	tests := []struct {
		name    string
		entries []entry
		secret  []byte // must not be in the member's download
		refuse  string // or the upload is refused with this
	}{
		{name: "etc/shadow a hard link to another entry", entries: []entry{
			{name: "var/lib/x/data", data: shadow}, {name: "etc/shadow", link: "var/lib/x/data"}}, secret: shadow},
		{name: "etc/shadow- a hard link target", entries: []entry{
			{name: "rootfs/etc/shadow-", data: shadow}, {name: "rootfs/etc/shadow", link: "rootfs/etc/shadow-"}}, secret: shadow},
		{name: ".netrc a hard link to a clear file", entries: []entry{
			{name: "srv/netrc.txt", data: netrc}, {name: "home/bob/.netrc", link: "srv/netrc.txt"}},
			refuse: "home/bob/.netrc is a hard link to srv/netrc.txt"},
	}
	for _, f := range sensitivetest.Secrets() {
		tests = append(tests, struct {
			name    string
			entries []entry
			secret  []byte
			refuse  string
		}{name: f.Category, entries: []entry{{name: f.Name, data: f.Data}}, secret: f.Data})
	}
	for _, tc := range tests {
		func() {
			var b bytes.Buffer
			tw := tar.NewWriter(&b)
			// A key that every version of the rules seals, so that the
			// upload is accepted whatever the rules make of the case.
			for _, f := range append(rootfs(11, 6), hostKey) {
				tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: 0o644, Size: int64(len(f.data)), ModTime: when})
				tw.Write(f.data)
			}
			for _, e := range tc.entries {
				h := &tar.Header{Typeflag: tar.TypeReg, Name: e.name, Mode: 0o600, Size: int64(len(e.data)), ModTime: when}
				if e.link != "" {
					h.Typeflag, h.Linkname, h.Size = tar.TypeLink, e.link, 0
				}
				tw.WriteHeader(h)
				tw.Write(e.data)
			}
			tw.Close()
			x := c.create(aliceTok, map[string]any{"imgward_protect": "sensitive"})
			if tc.refuse != "" {
				refused(t, c, tc.name, aliceTok, x, b.Bytes(), tc.refuse)
				return
			}
			c.call("PUT", "/v2/images/"+x+"/file", aliceTok, b.Bytes(), 204, nil)
			c.share(aliceTok, x, bob, bobTok)
			got := c.call("GET", "/v2/images/"+x+"/file", bobTok, nil, 200, nil)
			if got.header.Get("X-Imgward-Sealed") != catalog.SealedSensitive {
				t.Errorf("%s: member's download: X-Imgward-Sealed %q", tc.name, got.header.Get("X-Imgward-Sealed"))
			}
			if bytes.Contains(got.body, tc.secret) {
				t.Errorf("%s: the member downloads the secret in the clear", tc.name)
			}
			plain := append(rootfs(11, 6), hostKey)
			for _, e := range tc.entries {
				plain = append(plain, file{e.name, e.data})
			}
			export := c.call("GET", "/v2/images/"+x+"/file", aliceTok, nil, 200, nil)
			checkEntries(t, tc.name+": owner's export", export.body, plain)
		}()
	}

	// A tar cut short, or with data after its end, is refused.
	whole := tarOf(t, append(rootfs(12, 3), file{"etc/shadow", shadow}), when)
	for _, tc := range []struct {
		name string
		data []byte
		msg  string
	}{
		{"without its end blocks", whole[:len(whole)-1024], "truncated"},
		{"with trailing garbage", append(bytes.Clone(whole), "#!/bin/sh\necho hidden\n"...), "data after the end of the tar archive"},
	} {
		refused(t, c, tc.name, aliceTok, c.create(aliceTok, map[string]any{"imgward_protect": "sensitive"}), tc.data, tc.msg)
	}
}

// refused uploads data to the queued image x, expects a 400 with msg, and
// checks that nothing was stored: the image stays queued, with no data.
func refused(t *testing.T, c *cloud, name, token, x string, data []byte, msg string) {
	t.Helper()
	r := c.call("PUT", "/v2/images/"+x+"/file", token, data, 400, nil)
	var img struct{ Status string }
	c.call("GET", "/v2/images/"+x, token, nil, 200, &img)
	if !strings.Contains(r.message(), msg) || img.Status != "queued" {
		t.Errorf("%s: upload: %q, image %s; want %q, queued", name, r.message(), img.Status, msg)
	}
	if r := c.do("GET", "/v2/images/"+x+"/file", token, nil); r.code/100 == 2 && len(r.body) > 0 {
		t.Errorf("%s: refused upload left data: %d bytes", name, len(r.body))
	}
}
