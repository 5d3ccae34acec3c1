// Package blob keeps image bytes on the local filesystem. A Put writes to a
// temporary file, syncs it and renames it into place, so that a crash or a
// broken-off upload never leaves partial data under a key.
package blob

import (
	"context"
	"crypto/md5"
	"crypto/sha512"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"

	"imgward"
	"imgward/errors"
	"imgward/internal/securefile"
)

// FS is a BlobStore in a directory.
type FS struct {
	dir string
	tmp string // this node's temporary files: dir/tmp/<node>
}

var _ imgward.BlobStore = (*FS)(nil)

// DefaultNode names the temporary directory of a store that one node owns.
const DefaultNode = "local"

// Open opens, creating if needed, a blob store in dir owned by one node;
// see OpenNode.
func Open(dir string) (*FS, error) { return OpenNode(dir, DefaultNode) }

// OpenNode opens, creating if needed, a blob store in dir, which several
// nodes may share, and removes the temporary files of uploads that a crash
// of this node interrupted. A node writes its temporary files in
// dir/tmp/<node>, and removes only those: another node's upload in progress
// keeps its file. node must be a stable name of this node (a restart keeps
// it), in the characters of a blob key.
func OpenNode(dir, node string) (*FS, error) {
	const op = "blob.Open"
	if !ValidKey(node) {
		return nil, errors.E(op, errors.Invalid, errors.Msg("bad node name for the blob store: "+node))
	}
	tmp := filepath.Join(dir, "tmp", node)
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return nil, errors.E(op, errors.Internal, err)
	}
	tmps, err := filepath.Glob(filepath.Join(tmp, "*"))
	if err != nil {
		return nil, errors.E(op, errors.Internal, err)
	}
	for _, t := range tmps {
		os.Remove(t)
	}
	return &FS{dir: dir, tmp: tmp}, nil
}

// ValidKey admits the characters of UUIDs and instance ids, so that a key
// can never name a path outside the store, nor an object outside a
// backend's namespace. Every backend checks keys with it, so that a key
// valid on one is valid on all.
func ValidKey(key string) bool {
	if key == "" || len(key) > 128 {
		return false
	}
	for _, c := range key {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func (s *FS) path(key string) string { return filepath.Join(s.dir, key) }

// Put implements imgward.BlobStore.
func (s *FS) Put(ctx context.Context, key string, r io.Reader, max int64) (imgward.BlobInfo, error) {
	const op = "blob.Put"
	if !ValidKey(key) {
		return imgward.BlobInfo{}, errors.E(op, errors.Invalid, errors.Msg("bad blob key"))
	}
	f, err := os.CreateTemp(s.tmp, key+".*")
	if err != nil {
		return imgward.BlobInfo{}, errors.E(op, errors.Internal, err)
	}
	done := false
	defer func() {
		if !done {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	md, sh := md5.New(), sha512.New()
	n, err := io.Copy(io.MultiWriter(f, md, sh), ContextReader(ctx, io.LimitReader(r, max+1)))
	if err != nil {
		return imgward.BlobInfo{}, errors.E(op, errors.Invalid, errors.Msg("upload broke off"), err)
	}
	if n > max {
		return imgward.BlobInfo{}, errors.E(op, errors.TooLarge, errors.Msg("image data is over the size limit"))
	}
	if err := f.Sync(); err != nil {
		return imgward.BlobInfo{}, errors.E(op, errors.Internal, err)
	}
	if err := f.Close(); err != nil {
		return imgward.BlobInfo{}, errors.E(op, errors.Internal, err)
	}
	if err := os.Rename(f.Name(), s.path(key)); err != nil {
		return imgward.BlobInfo{}, errors.E(op, errors.Internal, err)
	}
	done = true
	if err := securefile.SyncDir(s.dir); err != nil {
		return imgward.BlobInfo{}, errors.E(op, errors.Internal, err)
	}
	return imgward.BlobInfo{Size: n, MD5: hex.EncodeToString(md.Sum(nil)), SHA512: hex.EncodeToString(sh.Sum(nil))}, nil
}

// Open implements imgward.BlobStore.
func (s *FS) Open(ctx context.Context, key string) (io.ReadSeekCloser, int64, error) {
	const op = "blob.Open"
	if !ValidKey(key) {
		return nil, 0, errors.E(op, errors.Invalid, errors.Msg("bad blob key"))
	}
	f, err := os.Open(s.path(key))
	if os.IsNotExist(err) {
		return nil, 0, errors.E(op, errors.NotExist, errors.Msg("no image data"))
	}
	if err != nil {
		return nil, 0, errors.E(op, errors.Internal, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, errors.E(op, errors.Internal, err)
	}
	return f, fi.Size(), nil
}

// Delete implements imgward.BlobStore.
func (s *FS) Delete(ctx context.Context, key string) error {
	const op = "blob.Delete"
	if !ValidKey(key) {
		return errors.E(op, errors.Invalid, errors.Msg("bad blob key"))
	}
	if err := os.Remove(s.path(key)); err != nil && !os.IsNotExist(err) {
		return errors.E(op, errors.Internal, err)
	}
	return nil
}

// ContextReader returns a reader of r that fails once ctx is done, so that a
// cancelled request does not keep writing.
func ContextReader(ctx context.Context, r io.Reader) io.Reader {
	return &ctxReader{ctx: ctx, r: r}
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
