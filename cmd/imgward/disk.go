package main

import (
	"fmt"

	"imgward/seal/qcow2"
)

var diskNoun = noun{
	name:    "disk",
	summary: "VM disks for images with imgward_protect luks",
	commands: []command{
		{"encrypt", diskEncryptUsage, diskEncrypt},
	},
}

const diskEncryptUsage = `usage: imgward disk encrypt IN OUT --image IMAGE [--format F]

Encrypt the VM disk IN into OUT, a qcow2 with LUKS encryption, under the
key of IMAGE, an image of your project created with --protect luks; then
upload OUT to it (imgward image upload IMAGE OUT). The image's key comes
from the server wrapped to a key pair made for this call, and reaches
qemu-img only as a LUKS secret in a private 0600 file: never on a command
line, in the environment or on the terminal. Needs qemu-img (Debian
qemu-utils).

Flags:
  --image IMAGE   the image whose key encrypts the disk
  --format F      the format of IN: raw, qcow2, vmdk... (default qcow2)
`

func diskEncrypt(e *env, args []string) error {
	fs := e.bareFlags("disk encrypt")
	image := fs.String("image", "", "")
	format := fs.String("format", "qcow2", "")
	ops, err := parse(fs, args, "IN", "OUT")
	if err != nil {
		return err
	}
	if *image == "" {
		return usageError("--image IMAGE is required: the image whose key encrypts the disk")
	}
	key, err := e.wrappedKey(path("v1", "images", *image, "key"), map[string]any{})
	if err != nil {
		return e.acceptHint(*image, err)
	}
	defer clear(key)
	if err := qcow2.Encrypt(e.ctx, ops[0], *format, ops[1], key); err != nil {
		return fmt.Errorf("encrypting %s: %v", ops[0], err)
	}
	fmt.Fprintf(e.stdout, "%s: qcow2 with LUKS under the key of image %s\n", ops[1], *image)
	return nil
}
