package server_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"io"
	"testing"

	"github.com/minio/minio-go/v7"

	"imgward/blob/s3"
	"imgward/blob/s3/s3test"
	"imgward/seal"
	"imgward/server"
)

// newS3Cloud is newCloud with its image data in a bucket of its own on the
// real S3 server of scripts/s3-test-server.sh, chosen as an operator does:
// by --blob URL, with the credentials in the environment.
func newS3Cloud(t *testing.T) (*cloud, s3.Options) {
	o := s3test.Options(t)
	env := map[string]string{"AWS_ACCESS_KEY_ID": o.AccessKey, "AWS_SECRET_ACCESS_KEY": o.SecretKey}
	c := newCloudWith(t, func(cfg *server.Config) {
		cfg.Blob = s3test.URL(o)
		cfg.Getenv = func(k string) string { return env[k] }
	})
	return c, o
}

// objects returns what the bucket of o holds, by key.
func objects(t *testing.T, o s3.Options) map[string][]byte {
	t.Helper()
	c := s3test.Client(t, o)
	ctx := context.Background()
	got := map[string][]byte{}
	for obj := range c.Client.ListObjects(ctx, o.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		r, err := c.Client.GetObject(ctx, o.Bucket, obj.Key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		got[obj.Key] = b
	}
	return got
}

// TestS3Blobs runs a served imgward on object storage: an upload of several
// parts, downloads by the owner and a member, a fully
// sealed image that is sealed in the bucket too, and a delete that removes
// the object.
func TestS3Blobs(t *testing.T) {
	c, o := newS3Cloud(t)
	_, aliceTok := c.tenant("alice")
	bob, bobTok := c.tenant("bob")

	// Over one 16 MiB part: the upload streams as a multipart upload.
	data := bytes.Repeat([]byte("imgward s3 "), (20<<20)/11)
	plain := c.image(aliceTok, nil, data)
	c.share(aliceTok, plain, bob, bobTok)
	sum := md5.Sum(data)
	for _, tok := range []string{aliceTok, bobTok} {
		got := c.call("GET", "/v2/images/"+plain+"/file", tok, nil, 200, nil)
		if !bytes.Equal(got.body, data) || got.header.Get("Content-MD5") != hex.EncodeToString(sum[:]) {
			t.Fatalf("download: %d bytes, Content-MD5 %q", len(got.body), got.header.Get("Content-MD5"))
		}
	}

	secret := bytes.Repeat([]byte("the secret disk "), 4096)
	full := c.image(aliceTok, map[string]any{"imgward_protect": "full"}, secret)
	stored := objects(t, o)
	if !bytes.Equal(stored[plain], data) {
		t.Fatalf("the bucket holds %d bytes for the plain image, want its %d", len(stored[plain]), len(data))
	}
	h, err := seal.ParseHeader(bytes.NewReader(stored[full]))
	if err != nil || string(h.ImageID) != full || bytes.Contains(stored[full], secret[:64]) {
		t.Fatalf("the protected image in the bucket: header %+v, %v (plaintext inside: %v)", h, err, bytes.Contains(stored[full], secret[:64]))
	}
	if got := c.call("GET", "/v2/images/"+full+"/file", aliceTok, nil, 200, nil); !bytes.Equal(got.body, secret) {
		t.Fatalf("owner's export of the protected image: %d bytes", len(got.body))
	}

	c.call("DELETE", "/v2/images/"+plain, aliceTok, nil, 204, nil)
	if _, ok := objects(t, o)[plain]; ok {
		t.Fatal("the deleted image's object is still in the bucket")
	}
}

// TestRobberyS3 is the robbery story of a fully sealed image, on object
// storage.
func TestRobberyS3(t *testing.T) {
	c, _ := newS3Cloud(t)
	robbery(t, c)
}

// TestRobberySensitiveS3 is the story of an image whose sensitive files are
// sealed, with its member's download, on object storage.
func TestRobberySensitiveS3(t *testing.T) {
	c, _ := newS3Cloud(t)
	robberySensitive(t, c)
}
