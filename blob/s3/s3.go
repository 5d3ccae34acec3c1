// Package s3 keeps image bytes in an S3-compatible object store, so that
// several imgward nodes share image data without a shared filesystem.
//
// A Put streams the data in parts of a multipart upload, hashing as it
// goes (MD5 and SHA-512, as the file backend does; each part also carries
// its Content-MD5, which the object store checks). The object appears
// under its key only when the upload completes: a failed, cancelled or
// oversized upload is aborted, so it leaves no object and no parts. Data
// that fits in one part is sent in one PUT, atomic by itself.
//
// The store is chosen with a URL, s3://bucket?endpoint=URL&region=NAME;
// the credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY
// (and AWS_SESSION_TOKEN if set), never from the URL, so that they appear
// in no command line and no log.
package s3

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"imgward"
	"imgward/blob"
	"imgward/errors"
)

// DefaultPartSize is the size of the parts of a multipart upload, and of
// the buffer each upload holds: S3 requires at least 5 MiB for every part
// but the last and allows 10,000 parts; past the first thousand the parts
// grow (Store.partSize).
const DefaultPartSize = 16 << 20

// maxParts is S3's limit on the parts of one upload.
const maxParts = 10000

// Options say where the store is and how to reach it.
type Options struct {
	Bucket    string
	Endpoint  string // URL of the S3 service: http://host:port or https://host
	Region    string // default us-east-1
	AccessKey string
	SecretKey string
	Token     string // session token, optional
	PartSize  int64  // default DefaultPartSize; at least 5 MiB
}

// ParseURL reads Options from s3://bucket?endpoint=URL&region=NAME, and the
// credentials from getenv.
func ParseURL(raw string, getenv func(string) string) (Options, error) {
	const op = "s3.ParseURL"
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "s3" {
		return Options{}, errors.E(op, errors.Invalid, errors.Msg("want s3://bucket?endpoint=URL&region=NAME"))
	}
	if u.User != nil {
		return Options{}, errors.E(op, errors.Invalid, errors.Msg("credentials go in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, not in the URL"))
	}
	if u.Path != "" && u.Path != "/" {
		return Options{}, errors.E(op, errors.Invalid, errors.Msg("an s3 URL names a bucket, not a path in one"))
	}
	q := u.Query()
	for k := range q {
		if k != "endpoint" && k != "region" {
			return Options{}, errors.E(op, errors.Invalid, errors.Msg(fmt.Sprintf("unknown s3 URL parameter %q: use endpoint and region", k)))
		}
	}
	o := Options{
		Bucket: u.Host, Endpoint: q.Get("endpoint"), Region: q.Get("region"),
		AccessKey: getenv("AWS_ACCESS_KEY_ID"), SecretKey: getenv("AWS_SECRET_ACCESS_KEY"), Token: getenv("AWS_SESSION_TOKEN"),
	}
	if o.Endpoint == "" {
		return Options{}, errors.E(op, errors.Invalid, errors.Msg("the s3 URL needs endpoint=URL of the object store"))
	}
	if o.AccessKey == "" || o.SecretKey == "" {
		return Options{}, errors.E(op, errors.Invalid, errors.Msg("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for the object store"))
	}
	return o, nil
}

// Store is a BlobStore in a bucket.
type Store struct {
	core      minio.Core
	bucket    string
	partSize0 int64 // of the first thousand parts
}

var _ imgward.BlobStore = (*Store)(nil)

// Open connects to the bucket of o, which must exist: imgward does not
// create buckets, whose policies are the operator's.
func Open(ctx context.Context, o Options) (*Store, error) {
	const op = "s3.Open"
	ep, err := url.Parse(o.Endpoint)
	if err != nil || (ep.Scheme != "http" && ep.Scheme != "https") || ep.Host == "" || (ep.Path != "" && ep.Path != "/") {
		return nil, errors.E(op, errors.Invalid, errors.Msg("the s3 endpoint must be http://host[:port] or https://host[:port]"))
	}
	if o.Bucket == "" {
		return nil, errors.E(op, errors.Invalid, errors.Msg("the s3 URL needs a bucket: s3://bucket?endpoint=…"))
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.PartSize == 0 {
		o.PartSize = DefaultPartSize
	}
	if o.PartSize < 5<<20 {
		return nil, errors.E(op, errors.Invalid, errors.Msg("s3 parts are at least 5 MiB"))
	}
	c, err := minio.NewCore(ep.Host, &minio.Options{
		Creds:  credentials.NewStaticV4(o.AccessKey, o.SecretKey, o.Token),
		Secure: ep.Scheme == "https",
		Region: o.Region,
		// Path-style requests (endpoint/bucket/key) work with every
		// S3-compatible store, and need no DNS name per bucket.
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		return nil, errors.E(op, errors.Invalid, err)
	}
	s := &Store{core: *c, bucket: o.Bucket, partSize0: o.PartSize}
	ok, err := c.BucketExists(ctx, o.Bucket)
	if err != nil {
		msg := errors.Msg("the object store refuses imgward's requests: check the credentials and the bucket's policy")
		if s.kind(err) == errors.Unavailable {
			msg = "cannot reach the object store at " + errors.Msg(o.Endpoint)
		}
		return nil, errors.E(op, s.kind(err), msg, err)
	}
	if !ok {
		return nil, errors.E(op, errors.Invalid, errors.Msg(fmt.Sprintf("the bucket %q does not exist; create it first", o.Bucket)))
	}
	return s, nil
}

// Open implements imgward.BlobStore. The reader fetches ranges as it is
// read and seeked, so a range request reads only its range.
func (s *Store) Open(ctx context.Context, key string) (io.ReadSeekCloser, int64, error) {
	const op = "s3.Open"
	if !blob.ValidKey(key) {
		return nil, 0, errors.E(op, errors.Invalid, errors.Msg("bad blob key"))
	}
	obj, err := s.core.Client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, 0, errors.E(op, s.kind(err), err)
	}
	st, err := obj.Stat()
	if err != nil {
		obj.Close()
		if isNotExist(err) {
			return nil, 0, errors.E(op, errors.NotExist, errors.Msg("no image data"))
		}
		return nil, 0, errors.E(op, s.kind(err), err)
	}
	return obj, st.Size, nil
}

// Delete implements imgward.BlobStore.
func (s *Store) Delete(ctx context.Context, key string) error {
	const op = "s3.Delete"
	if !blob.ValidKey(key) {
		return errors.E(op, errors.Invalid, errors.Msg("bad blob key"))
	}
	// S3 answers a delete of an absent object with success.
	if err := s.core.Client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil && !isNotExist(err) {
		return errors.E(op, s.kind(err), err)
	}
	return nil
}

func isNotExist(err error) bool {
	code := minio.ToErrorResponse(err).Code
	return code == minio.NoSuchKey || code == "NotFound"
}

// kind classes an object store's error: an answer of the store that is
// not about the request (a 5xx, throttling) or no answer at all is
// Unavailable, which a client may retry; any other answer means imgward is
// misconfigured (credentials, bucket, policy) and is Internal.
func (s *Store) kind(err error) errors.Kind {
	r := minio.ToErrorResponse(err)
	switch {
	case r.StatusCode == 0, r.StatusCode >= 500, r.StatusCode == 429, strings.Contains(r.Code, "SlowDown"):
		return errors.Unavailable
	default:
		return errors.Internal
	}
}
