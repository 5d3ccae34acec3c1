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
	if info.Format != "qcow2" || !info.Encrypted || info.Spec.Data.Encrypt.Format != "luks" || info.Size != 1<<20 {
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
