package main

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestFetchSensitive runs the launch path of an image whose sensitive
// files only are sealed: create --protect sensitive, upload a rootfs tar;
// the member's download shows the rest in the clear, and fetch as the host
// of the member's instance writes the whole rootfs.
func TestFetchSensitive(t *testing.T) {
	alice, bob, bobProject := twoTenants(t)

	var img obj
	alice.json(&img, "image", "create", "rootfs", "--protect", "sensitive", "--disk-format", "raw")
	id := img["id"].(string)
	if img["imgward_protect"] != "sensitive" {
		t.Errorf("created image %v", img)
	}
	files := map[string]string{
		"etc/hostname": "web-1\n",
		"etc/shadow":   "root:$6$salt$0123456789abcdefghij:19000:0:99999:7:::\n",
		"usr/bin/app":  string(bytes.Repeat([]byte("\x7fELF"), 3000)),
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "rootfs.tar")
	os.WriteFile(file, tarFiles(t, files), 0o600)
	alice.ok("image", "upload", id, file)
	alice.ok("image", "share", id, bobProject)
	bob.ok("image", "accept", id)

	partly := filepath.Join(dir, "partly.tar")
	bob.ok("image", "download", id, "--out", partly)
	seen := readTar(t, partly)
	if seen["etc/hostname"] != files["etc/hostname"] || seen["etc/shadow"] == files["etc/shadow"] {
		t.Errorf("member's download: hostname %q, shadow in the clear: %v",
			seen["etc/hostname"], seen["etc/shadow"] == files["etc/shadow"])
	}

	idFile := filepath.Join(dir, "i1.identity")
	bob.ok("instance", "launch", id, "--host", "hv1", "--identity-out", idFile)
	out := filepath.Join(dir, "rootfs.plain.tar")
	bob.ok("image", "fetch", id, "--identity", idFile, "--out", out)
	got := readTar(t, out)
	for name, body := range files {
		if got[name] != body {
			t.Errorf("fetched %s differs", name)
		}
	}
	again := filepath.Join(dir, "again")
	bob.fails(exitPermission, "error: identity document already used", "image", "fetch", id, "--identity", idFile, "--out", again)
}

func tarFiles(t *testing.T, files map[string]string) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(body))}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	tw.Close()
	return b.Bytes()
}

func readTar(t *testing.T, name string) map[string]string {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string]string{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return m
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b, _ := io.ReadAll(tr)
		m[h.Name] = string(b)
	}
}
