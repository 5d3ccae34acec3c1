package s3

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"io"
	"time"

	"github.com/minio/minio-go/v7"

	"imgward"
	"imgward/blob"
	"imgward/errors"
)

// maxPartSize is S3's limit on one part.
const maxPartSize = 5 << 30

// partSize is the size of part num (from 1). It doubles every thousand
// parts, so that small and medium images use small parts (and buffers),
// while S3's 10,000 parts still carry images of many terabytes.
func (s *Store) partSize(num int) int64 {
	return min(s.partSize0<<((num-1)/1000), maxPartSize)
}

// upload is one Put in progress.
type upload struct {
	s       *Store
	key     string
	src     io.Reader // the data, limited to max+1 bytes and hashed as read
	max     int64
	total   int64
	md, sh  hash.Hash
	buf     bytes.Buffer
	eof     bool
	started string // the multipart upload's id, once there is one
}

// Put implements imgward.BlobStore.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, max int64) (imgward.BlobInfo, error) {
	const op = "s3.Put"
	if !blob.ValidKey(key) {
		return imgward.BlobInfo{}, errors.E(op, errors.Invalid, errors.Msg("bad blob key"))
	}
	u := &upload{s: s, key: key, max: max, md: md5.New(), sh: sha512.New()}
	u.src = io.TeeReader(blob.ContextReader(ctx, io.LimitReader(r, max+1)), io.MultiWriter(u.md, u.sh))
	if err := u.run(ctx); err != nil {
		if u.started != "" {
			// The abort must happen even when ctx is what failed: parts
			// of an unfinished upload are stored, and billed, until then.
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			if aerr := s.core.AbortMultipartUpload(actx, s.bucket, key, u.started); aerr != nil {
				err = errors.E(op, s.kind(aerr), errors.Msg("upload failed and its parts could not be removed"), errors.Errorf("%w (abort: %v)", err, aerr))
			}
			cancel()
		}
		return imgward.BlobInfo{}, errors.E(op, err)
	}
	return imgward.BlobInfo{Size: u.total, MD5: hex.EncodeToString(u.md.Sum(nil)), SHA512: hex.EncodeToString(u.sh.Sum(nil))}, nil
}

// run sends the data: in one PUT if it fits in the first part, else as a
// multipart upload that it completes only after the last byte is read and
// within the limit.
func (u *upload) run(ctx context.Context) error {
	if err := u.fill(1); err != nil {
		return err
	}
	if u.eof {
		data := u.buf.Bytes()
		_, err := u.s.core.PutObject(ctx, u.s.bucket, u.key, bytes.NewReader(data), int64(len(data)), md5Base64(data), "", minio.PutObjectOptions{})
		if err != nil {
			return errors.E(u.s.kind(err), err)
		}
		return nil
	}
	id, err := u.s.core.NewMultipartUpload(ctx, u.s.bucket, u.key, minio.PutObjectOptions{})
	if err != nil {
		return errors.E(u.s.kind(err), err)
	}
	u.started = id
	var parts []minio.CompletePart
	for num := 1; ; num++ {
		if num > maxParts {
			return errors.E(errors.TooLarge, errors.Msg("image data is over the object store's part limit"))
		}
		data := u.buf.Bytes()
		p, err := u.s.core.PutObjectPart(ctx, u.s.bucket, u.key, id, num, bytes.NewReader(data), int64(len(data)),
			minio.PutObjectPartOptions{Md5Base64: md5Base64(data)})
		if err != nil {
			return errors.E(u.s.kind(err), err)
		}
		parts = append(parts, minio.CompletePart{PartNumber: num, ETag: p.ETag})
		if u.eof {
			break
		}
		if err := u.fill(num + 1); err != nil {
			return err
		}
		if u.buf.Len() == 0 { // the data ended on a part's boundary
			break
		}
	}
	if _, err := u.s.core.CompleteMultipartUpload(ctx, u.s.bucket, u.key, id, parts, minio.PutObjectOptions{}); err != nil {
		return errors.E(u.s.kind(err), err)
	}
	return nil
}

// fill reads part num into the buffer, and fails once the data is over
// the limit or the reader fails.
func (u *upload) fill(num int) error {
	u.buf.Reset()
	n, err := io.CopyN(&u.buf, u.src, u.s.partSize(num))
	u.total += n
	switch {
	case err == io.EOF:
		u.eof = true
	case err != nil:
		return errors.E(errors.Invalid, errors.Msg("upload broke off"), err)
	}
	if u.total > u.max {
		return errors.E(errors.TooLarge, errors.Msg("image data is over the size limit"))
	}
	return nil
}

func md5Base64(p []byte) string {
	sum := md5.Sum(p)
	return base64.StdEncoding.EncodeToString(sum[:])
}
