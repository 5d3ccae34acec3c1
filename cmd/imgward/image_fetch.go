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
	"imgward/seal"
)

const imageFetchUsage = `usage: imgward image fetch IMAGE --identity FILE --out FILE

Fetch the plaintext of protected image IMAGE as the hypervisor host of an
instance does: download the sealed image, ask the key broker for its key
with the instance's identity document (imgward instance launch
--identity-out FILE) and a fresh key pair, and unseal it, verifying every
chunk. FILE appears only when all of it is verified (it is written beside
FILE under a temporary name, then renamed), readable by its owner only.

An identity document is accepted once. When the broker refuses, its reason
is printed and the exit status says why (3: not found, 4: denied).

Flags:
  --identity FILE   the instance's identity document
  --out FILE        where to write the plaintext
`

// maxIdentityFile bounds the identity file read.
const maxIdentityFile = 16 << 10

func imageFetch(e *env, args []string) error {
	fs := e.bareFlags("image fetch")
	idFile := fs.String("identity", "", "")
	out := fs.String("out", "", "")
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
	if resp.Header.Get("X-Imgward-Sealed") != "v1" {
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

// releaseKey asks the broker for image id's data key with a fresh P-256
// key pair, whose private half never leaves this process.
func (e *env) releaseKey(doc, id string) ([]byte, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	jwk, err := json.Marshal(jose.JSONWebKey{Key: &priv.PublicKey})
	if err != nil {
		return nil, err
	}
	in := map[string]any{"identity": doc, "image_id": id, "public_key": json.RawMessage(jwk)}
	var rel struct {
		Key string `json:"key"`
	}
	if err := e.api.call(e.ctx, "POST", "/v1/keys/release", in, &rel); err != nil {
		if a, ok := err.(*apiError); ok && a.Status == http.StatusForbidden && a.hint == "" {
			a.hint = "the key broker refused; an identity document is accepted once: launch again for a new one"
		}
		return nil, err
	}
	key, err := broker.Open(rel.Key, priv)
	if err != nil {
		return nil, fmt.Errorf("bad response from the key broker: %v", err)
	}
	return key, nil
}
