package main

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"

	"imgward/catalog"
	"imgward/seal/qcow2"
)

// fetchLUKS is image fetch of a LUKS disk: the key is asked for first, so
// that a denial writes nothing; then the disk is written as it is stored,
// checked against the server's Content-MD5, and only then the secret.
func (e *env) fetchLUKS(resp *http.Response, format, id, doc, out, secretOut string) error {
	if format != catalog.SealedLUKS {
		return usageError(fmt.Sprintf("--luks-secret-out is for images with imgward_protect luks; image %s is not one", id))
	}
	if secretOut == "" || secretOut == "-" {
		return withHint(usageError("image "+id+" is a LUKS disk: --luks-secret-out FILE is required"),
			"the disk stays encrypted; QEMU opens it with the secret written to FILE")
	}
	want, err := contentMD5(resp.Header.Get("Content-MD5"))
	if err != nil {
		return err
	}
	key, err := e.releaseKey(doc, id)
	if err != nil {
		return err
	}
	pass, err := qcow2.Passphrase(key)
	clear(key)
	if err != nil {
		return err
	}
	bar := e.progress(filepath.Base(out), resp.ContentLength)
	defer bar.finish()
	err = writeAtomic(out, func(w io.Writer) error { return copyChecked(w, bar.reader(resp.Body), id, want) })
	if err != nil {
		return err
	}
	// writeAtomic's file is created 0600 and appears whole.
	return writeAtomic(secretOut, func(w io.Writer) error {
		_, err := io.WriteString(w, pass)
		return err
	})
}
