package main

import (
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"imgward/seal/qcow2"
)

// TestFetchLUKS runs the LUKS path with the real qemu-img: Alice creates a
// --protect luks image, encrypts her disk under its key (disk encrypt) and
// uploads it; the host of Bob's instance fetches the disk and the LUKS
// secret, which opens the disk to the content of Alice's plain one. A
// replayed or misdirected document, and a non-owner asking for the key,
// get nothing.
func TestFetchLUKS(t *testing.T) {
	if _, err := os.Stat(qcow2.QemuImg); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing (run scripts/test-deps.sh): %v", qcow2.QemuImg, err)
		}
		t.Skipf("%s is missing (run scripts/test-deps.sh)", qcow2.QemuImg)
	}
	alice, bob, bobProject := twoTenants(t)

	dir := t.TempDir()
	raw := filepath.Join(dir, "disk.raw")
	data := make([]byte, 1<<20)
	rand.Read(data)
	os.WriteFile(raw, data, 0o600)
	plain := filepath.Join(dir, "plain.qcow2")
	qemuImg(t, "convert", "-f", "raw", "-O", "qcow2", raw, plain)

	var img obj
	alice.json(&img, "image", "create", "vm", "--protect", "luks")
	id := img["id"].(string)
	// The disk must be LUKS qcow2: a plain one is refused, the image stays queued.
	alice.fails(exitError, "imgward disk encrypt IN.qcow2 OUT.qcow2", "image", "upload", id, plain)
	enc := filepath.Join(dir, "enc.qcow2")
	bob.fails(exitNotFound, "no such image", "disk", "encrypt", plain, enc, "--image", id)
	alice.ok("disk", "encrypt", plain, enc, "--image", id)
	alice.ok("image", "upload", id, enc)
	alice.ok("image", "share", id, bobProject)
	bob.ok("image", "accept", id)
	bob.fails(exitPermission, "only the image's owner may fetch its key", "disk", "encrypt", plain, enc+".bob", "--image", id)

	idFile := filepath.Join(dir, "i1.identity")
	bob.ok("instance", "launch", id, "--host", "hv1", "--identity-out", idFile)
	disk, secret := filepath.Join(dir, "fetched.qcow2"), filepath.Join(dir, "secret")
	bob.fails(exitUsage, "--luks-secret-out FILE is required", "image", "fetch", id, "--identity", idFile, "--out", disk)
	bob.ok("image", "fetch", id, "--identity", idFile, "--out", disk, "--luks-secret-out", secret)
	if fi, err := os.Stat(secret); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret file: %v, mode %v", err, fi.Mode())
	}
	// The released secret opens the fetched disk to Alice's content.
	qemuImg(t, "compare", "--object", "secret,id=sec0,format=raw,file="+secret,
		"--image-opts", "driver=qcow2,file.filename="+disk+",encrypt.key-secret=sec0", "driver=qcow2,file.filename="+plain)
	if b, _ := os.ReadFile(secret); strings.Contains(string(b), "\n") || len(b) != 44 {
		t.Errorf("secret is %d bytes, want the 44 of a base64 passphrase", len(b))
	}

	// A replayed document, and a document for another image: no secret.
	other := filepath.Join(dir, "other.secret")
	bob.fails(exitPermission, "identity document already used", "image", "fetch", id,
		"--identity", idFile, "--out", disk+".2", "--luks-secret-out", other)
	var mine obj
	bob.json(&mine, "image", "create", "mine", "--disk-format", "raw")
	mineFile := filepath.Join(dir, "mine.raw")
	os.WriteFile(mineFile, []byte("bob's"), 0o600)
	bob.ok("image", "upload", mine["id"].(string), mineFile)
	idMine := filepath.Join(dir, "mine.identity")
	bob.ok("instance", "launch", mine["id"].(string), "--host", "hv1", "--identity-out", idMine)
	bob.fails(exitPermission, "identity document is for another image", "image", "fetch", id,
		"--identity", idMine, "--out", disk+".3", "--luks-secret-out", other)
	for _, f := range []string{other, disk + ".2", disk + ".3"} {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("a refused fetch left %s", f)
		}
	}
	// A wrong secret does not open the disk.
	os.WriteFile(other, []byte(strings.Repeat("A", 43)+"="), 0o600)
	cmd := exec.Command(qcow2.QemuImg, "compare", "--object", "secret,id=sec0,format=raw,file="+other,
		"--image-opts", "driver=qcow2,file.filename="+disk+",encrypt.key-secret=sec0", "driver=qcow2,file.filename="+plain)
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Errorf("a wrong secret opened the disk: %s", out)
	}
}

func qemuImg(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(qcow2.QemuImg, args...).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}
