package main

import (
	"bytes"
	"crypto/md5"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/term"
)

const imageUploadUsage = `usage: imgward image upload IMAGE FILE [--output table|json]

Upload the data of image IMAGE from FILE, or from standard input if FILE
is -. The image must be queued. The data streams to the server, which
stores all of it or nothing; then the server's checksums are compared
with the data sent. Prints the image, now active.
`

func imageUpload(e *env, args []string) error {
	ops, err := parse(e.flags("image upload"), args, "IMAGE", "FILE")
	if err != nil {
		return err
	}
	id, name := ops[0], ops[1]
	var r io.Reader = e.stdin
	total := int64(-1)
	if name == "-" {
		if isTerminal(e.stdin) {
			return usageError("refusing to read image data from a terminal; give a FILE or pipe the data in")
		}
		name = "stdin"
	} else {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			total = st.Size()
		}
		r = f
	}
	sums := newSums()
	bar := e.progress(filepath.Base(name), total)
	body := sizedReader{bar.reader(io.TeeReader(r, sums)), total}
	resp, err := e.api.do(e.ctx, "PUT", path("v2", "images", id, "file"), body,
		http.Header{"Content-Type": {"application/octet-stream"}})
	bar.finish()
	if err != nil {
		return err
	}
	resp.Body.Close()
	var raw json.RawMessage
	if err := e.api.call(e.ctx, "GET", path("v2", "images", id), nil, &raw); err != nil {
		return err
	}
	var img struct {
		Checksum    string `json:"checksum"`
		OSHashAlgo  string `json:"os_hash_algo"`
		OSHashValue string `json:"os_hash_value"`
	}
	json.Unmarshal(raw, &img)
	if err := sums.check(img.Checksum, img.OSHashAlgo, img.OSHashValue); err != nil {
		return fmt.Errorf("image %s: %v: the upload was corrupted", id, err)
	}
	return e.emitImage(raw)
}

const imageDownloadUsage = `usage: imgward image download IMAGE [--out FILE]

Download the data of image IMAGE to standard output, or to FILE. The data
is checked against the server's Content-MD5. FILE appears only when the
download is complete and checked (it is written beside FILE under a
temporary name, then renamed), readable by its owner only.

A shared image must be accepted before it can be downloaded:
imgward image accept IMAGE.

Flags:
  --out FILE   write to FILE instead of standard output
`

func imageDownload(e *env, args []string) error {
	fs := e.bareFlags("image download")
	out := fs.String("out", "", "")
	ops, err := parse(fs, args, "IMAGE")
	if err != nil {
		return err
	}
	id := ops[0]
	if (*out == "" || *out == "-") && isTerminal(e.stdout) {
		return usageError("refusing to write image data to a terminal; use --out FILE or redirect the output")
	}
	resp, err := e.api.do(e.ctx, "GET", path("v2", "images", id, "file"), nil, nil)
	if err != nil {
		return e.acceptHint(id, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNoContent {
		return withHint(fmt.Errorf("image %s has no data", id), "upload it first: imgward image upload "+id+" FILE")
	}
	want, err := contentMD5(resp.Header.Get("Content-MD5"))
	if err != nil {
		return err
	}
	label := id
	if *out != "" && *out != "-" {
		label = filepath.Base(*out)
	}
	bar := e.progress(label, resp.ContentLength)
	defer bar.finish()
	copyData := func(w io.Writer) error { return copyChecked(w, bar.reader(resp.Body), id, want) }
	if *out == "" || *out == "-" {
		return copyData(e.stdout)
	}
	return writeAtomic(*out, copyData)
}

// copyChecked copies image id's data from r to w and checks it against
// want, the MD5 the server announced (nil: none).
func copyChecked(w io.Writer, r io.Reader, id string, want []byte) error {
	h := md5.New()
	if _, err := io.Copy(io.MultiWriter(w, h), r); err != nil {
		return fmt.Errorf("download of image %s failed: %v", id, err)
	}
	if want != nil && !bytes.Equal(h.Sum(nil), want) {
		return fmt.Errorf("image %s: the data do not match the server's Content-MD5", id)
	}
	return nil
}

// writeAtomic writes a file through write, under a temporary name beside
// it, and renames it into place only if write and the sync succeed.
func writeAtomic(name string, write func(io.Writer) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".part-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := write(f); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), name)
}

// acceptHint adds a hint to a refusal to use a shared image: only an
// accepted member may use it, and one that may see it is a member. A
// refusal for another reason (a quarantined image) gets none.
func (e *env) acceptHint(id string, err error) error {
	var a *apiError
	if !errors.As(err, &a) || a.Status != http.StatusForbidden || strings.Contains(a.Message, "quarantined") {
		return err
	}
	var img struct {
		Visibility string `json:"visibility"`
	}
	if e.api.call(e.ctx, "GET", path("v2", "images", id), nil, &img) == nil && img.Visibility == "shared" {
		return withHint(err, "accept the image first: imgward image accept "+id)
	}
	return err
}

// contentMD5 decodes a Content-MD5 header: hex, as Glance sends it, or
// base64, as RFC 1864 has it. An absent header gives nil.
func contentMD5(h string) ([]byte, error) {
	if h == "" {
		return nil, nil
	}
	if b, err := hex.DecodeString(h); err == nil && len(b) == md5.Size {
		return b, nil
	}
	if b, err := base64.StdEncoding.DecodeString(h); err == nil && len(b) == md5.Size {
		return b, nil
	}
	return nil, fmt.Errorf("bad response from the server: Content-MD5 %q", h)
}

// sums hashes data as the server does: MD5 for Glance's checksum and
// SHA-512 for os_hash_value.
type sums struct{ md5, sha512 hash.Hash }

func newSums() *sums { return &sums{md5.New(), sha512.New()} }

func (s *sums) Write(b []byte) (int, error) {
	s.md5.Write(b)
	return s.sha512.Write(b)
}

// check compares the sums with the server's; it skips what the server
// did not report.
func (s *sums) check(checksum, algo, value string) error {
	if got := hex.EncodeToString(s.md5.Sum(nil)); checksum != "" && checksum != got {
		return fmt.Errorf("server checksum %s, data sent %s", checksum, got)
	}
	if got := hex.EncodeToString(s.sha512.Sum(nil)); algo == "sha512" && value != got {
		return fmt.Errorf("server sha512 %.16s..., data sent %.16s...", value, got)
	}
	return nil
}

// sizedReader is a request body of known length (-1 if unknown).
type sizedReader struct {
	io.Reader
	n int64
}

func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
