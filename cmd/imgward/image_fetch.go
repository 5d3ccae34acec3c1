package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"

	jose "github.com/go-jose/go-jose/v4"

	"imgward"
	"imgward/broker"
	"imgward/catalog"
	"imgward/seal"
	"imgward/seal/sensitive"
)

const imageFetchUsage = `usage: imgward image fetch IMAGE --identity FILE --out FILE [--luks-secret-out FILE]

Fetch the plaintext of protected image IMAGE as the hypervisor host of an
instance does: download the sealed image, ask the key broker for its key
with the instance's identity document (imgward instance launch
--identity-out FILE) and a fresh key pair, and unseal it, verifying every
chunk. For an image with only its sensitive files sealed (--protect
sensitive), FILE is the rootfs tar with those entries unsealed. FILE appears only when all of it is verified (it is written beside
FILE under a temporary name, then renamed), readable by its owner only.

For a LUKS disk (imgward_protect luks), FILE is the encrypted qcow2 as
stored, and --luks-secret-out FILE (mode 0600) receives the LUKS secret
that QEMU opens it with (--object secret,id=sec0,file=FILE, then
encrypt.key-secret=sec0): derived from the image's key, which is never
written. The disk stays encrypted on the host.

An identity document is accepted once. When the broker refuses, its reason
is printed and the exit status says why (3: not found, 4: denied).

Flags:
  --identity FILE   the instance's identity document
  --out FILE        where to write the plaintext (the disk, for LUKS)
  --luks-secret-out FILE
                    where to write the LUKS secret of a LUKS disk
`

// maxIdentityFile bounds the identity file read.
const maxIdentityFile = 16 << 10

func imageFetch(e *env, args []string) error {
	fs := e.bareFlags("image fetch")
	idFile := fs.String("identity", "", "")
	out := fs.String("out", "", "")
	secretOut := fs.String("luks-secret-out", "", "")
	ops, err := parse(fs, args, "IMAGE")
	if err != nil {
		return err
	}
	if *idFile == "" || *out == "" || *out == "-" {
		return usageError("--identity FILE and --out FILE are required")
	}
	id := ops[0]
	doc, err := readIdentity(*idFile)
	if err != nil {
		return err
	}
	resp, err := e.api.do(e.ctx, "GET", path("v2", "images", id, "file")+"?format=sealed", nil, nil)
	if err != nil {
		return e.acceptHint(id, err)
	}
	defer resp.Body.Close()
	format := resp.Header.Get("X-Imgward-Sealed")
	if format == catalog.SealedLUKS || *secretOut != "" {
		return e.fetchLUKS(resp, format, id, doc, *out, *secretOut)
	}
	if format != "v1" && format != catalog.SealedSensitive {
		return withHint(fmt.Errorf("image %s is not protected", id), "download it: imgward image download "+id)
	}
	key, err := e.releaseKey(doc, id)
	if err != nil {
		return err
	}
	defer clear(key)
	bar := e.progress(filepath.Base(*out), resp.ContentLength)
	defer bar.finish()
	return writeAtomic(*out, func(w io.Writer) error {
		if format == catalog.SealedSensitive {
			return unsealTar(w, bar.reader(resp.Body), key, id)
		}
		h, r, err := seal.NewReader(bar.reader(resp.Body), key)
		if err != nil {
			return fmt.Errorf("image %s does not open with the released key: %v", id, err)
		}
		if h.ImageID != imgward.ImageID(id) {
			return fmt.Errorf("image %s: the sealed data are bound to image %s", id, clean(string(h.ImageID)))
		}
		if _, err := io.Copy(w, r); err != nil {
			return fmt.Errorf("image %s: %v", id, err)
		}
		return nil
	})
}

// unsealTar writes the tar of a sensitive image with its sealed entries
// opened, each authenticated by the key; their headers must name image id.
// Every sealed entry carries the same binding, so the first one tells.
func unsealTar(w io.Writer, r io.Reader, key []byte, id string) error {
	h, err := sensitive.UnsealSensitive(w, r, key)
	if err != nil {
		return fmt.Errorf("image %s does not open with the released key: %v", id, err)
	}
	if h != nil && h.ImageID != imgward.ImageID(id) {
		return fmt.Errorf("image %s: the sealed entries are bound to image %s", id, clean(string(h.ImageID)))
	}
	return nil
}

// readIdentity reads an identity document written by instance launch.
func readIdentity(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxIdentityFile+1))
	if err != nil {
		return "", err
	}
	if len(b) > maxIdentityFile {
		return "", fmt.Errorf("%s: too large for an identity document", name)
	}
	return string(bytes.TrimSpace(b)), nil
}

// releaseKey asks the broker for image id's data key with the instance's
// identity document.
func (e *env) releaseKey(doc, id string) ([]byte, error) {
	key, err := e.wrappedKey("/v1/keys/release", map[string]any{"identity": doc, "image_id": id})
	if a, ok := err.(*apiError); ok && a.Status == http.StatusForbidden && a.hint == "" {
		a.hint = "the key broker refused; an identity document is accepted once: launch again for a new one"
	}
	return key, err
}

// wrappedKey posts in to path with the public half of a fresh P-256 key
// pair, whose private half never leaves this process, and opens the data
// key that the server wraps to it.
func (e *env) wrappedKey(path string, in map[string]any) ([]byte, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	jwk, err := json.Marshal(jose.JSONWebKey{Key: &priv.PublicKey})
	if err != nil {
		return nil, err
	}
	in["public_key"] = json.RawMessage(jwk)
	var rel struct {
		Key string `json:"key"`
	}
	if err := e.api.call(e.ctx, "POST", path, in, &rel); err != nil {
		return nil, err
	}
	key, err := broker.Open(rel.Key, priv)
	if err != nil {
		return nil, fmt.Errorf("bad response from the key broker: %v", err)
	}
	return key, nil
}
