package qcow2

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"imgward/errors"
)

func needQemuImg(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(QemuImg); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing (run scripts/test-deps.sh): %v", QemuImg, err)
		}
		t.Skipf("%s is missing (run scripts/test-deps.sh)", QemuImg)
	}
}

func TestPassphrase(t *testing.T) {
	// Known answer: HKDF-SHA256 of 32 zero bytes, no salt, PassphraseInfo.
	p, err := Passphrase(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	if want := "SHKVtodQbEPAGu1fe7lTv7U0HQOjHZbcWKMzYAqREVo="; p != want {
		t.Fatalf("passphrase = %q, want %q", p, want)
	}
	q, _ := Passphrase(bytes.Repeat([]byte{1}, 32))
	if p == q {
		t.Fatal("two keys give one passphrase")
	}
	if _, err := Passphrase(make([]byte, 16)); !errors.Is(errors.Invalid, err) {
		t.Fatalf("short key: %v", err)
	}
}

func TestEncryptOpen(t *testing.T) {
	needQemuImg(t)
	ctx := context.Background()
	dir := t.TempDir()
	// A 1 MiB raw disk with recognisable content at several offsets.
	disk := make([]byte, 1<<20)
	for i := range disk {
		disk[i] = byte(i * 7 >> 9)
	}
	plain := filepath.Join(dir, "plain, raw.img") // a comma, to test escaping
	if err := os.WriteFile(plain, disk, 0o644); err != nil {
		t.Fatal(err)
	}
	key := bytes.Repeat([]byte{3}, 32)
	enc := filepath.Join(dir, "enc.qcow2")
	if err := Encrypt(ctx, plain, "raw", enc, key); err != nil {
		t.Fatal(err)
	}
	info, err := Inspect(ctx, enc)
	if err != nil {
		t.Fatal(err)
	}
	if info.Format != "qcow2" || !info.Encrypted || info.Spec.Data.Encrypt.Format != "luks" ||
		info.Spec.Data.Encrypt.HashAlg != hashAlg || info.Size != 1<<20 {
		t.Fatalf("info = %+v", info)
	}
	raw, _ := os.ReadFile(enc)
	if bytes.Contains(raw, disk[4096:8192]) {
		t.Fatal("plaintext in the encrypted disk")
	}
	if err := Compare(ctx, enc, plain, "raw", key); err != nil {
		t.Fatalf("the derived secret does not open the disk: %v", err)
	}
	out := filepath.Join(dir, "out.raw")
	if err := Decrypt(ctx, enc, out, "raw", key); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(out); !bytes.Equal(got, disk) {
		t.Fatal("decrypted disk differs")
	}

	wrong := bytes.Repeat([]byte{4}, 32)
	if err := Compare(ctx, enc, plain, "raw", wrong); errors.Message(err) != "the key does not open the disk" {
		t.Fatalf("wrong key: err = %v, want invalid", err)
	}
	if err := Decrypt(ctx, enc, filepath.Join(dir, "x.raw"), "raw", wrong); !errors.Is(errors.Invalid, err) {
		t.Fatalf("wrong key, decrypt: err = %v", err)
	}
	disk[1000] ^= 1
	os.WriteFile(plain, disk, 0o644)
	if err := Compare(ctx, enc, plain, "raw", key); !errors.Is(errors.Conflict, err) {
		t.Fatalf("changed content: err = %v, want conflict", err)
	}
}

// TestOpensSHA256Disk: disks sealed before the header's hash became
// SHA-512 (qemu-img's default, SHA-256) still open with the same key, since
// QEMU reads the hash from the header.
func TestOpensSHA256Disk(t *testing.T) {
	needQemuImg(t)
	ctx := context.Background()
	dir := t.TempDir()
	disk := bytes.Repeat([]byte("sealed before sha512 "), 1<<16)[:1<<20]
	plain := filepath.Join(dir, "plain.raw")
	if err := os.WriteFile(plain, disk, 0o644); err != nil {
		t.Fatal(err)
	}
	key := bytes.Repeat([]byte{5}, 32)
	enc := filepath.Join(dir, "old.qcow2")
	// SHA-256's first timing step often reads no time at all (see hashAlg),
	// so the old way takes tries.
	var err error
	for range 30 {
		err = withSecret(ctx, "test", key, func(obj string) []string {
			return []string{"convert", "--object", obj, "-f", "raw", "-O", "qcow2",
				"-o", "encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=" + iterTime, plain, enc}
		})
		if errors.KindOf(err) != errors.Unavailable {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	info, err := Inspect(ctx, enc)
	if err != nil {
		t.Fatal(err)
	}
	if info.Spec.Data.Encrypt.HashAlg != "sha256" {
		t.Fatalf("hash-alg %q, want the old disk's sha256", info.Spec.Data.Encrypt.HashAlg)
	}
	if err := Compare(ctx, enc, plain, "raw", key); err != nil {
		t.Fatalf("the derived secret does not open the old disk: %v", err)
	}
	if err := Compare(ctx, enc, plain, "raw", bytes.Repeat([]byte{6}, 32)); !errors.Is(errors.Invalid, err) {
		t.Fatalf("another key on the old disk: %v", err)
	}
}
