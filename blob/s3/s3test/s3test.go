// Package s3test gives tests a fresh bucket on the S3 server that
// scripts/s3-test-server.sh starts, so that every test of the object-storage
// backend, in blob/s3 and end to end, runs against a real S3 server.
package s3test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"imgward/blob/s3"
)

// Options returns the options of a new, empty bucket of its own on the test
// server named by IMGWARD_TEST_S3_URL, with the credentials of
// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY. Without a server the test
// is skipped, or fails under CI=true, where no test may skip.
func Options(t testing.TB) s3.Options {
	t.Helper()
	o := s3.Options{
		Endpoint:  os.Getenv("IMGWARD_TEST_S3_URL"),
		AccessKey: os.Getenv("AWS_ACCESS_KEY_ID"),
		SecretKey: os.Getenv("AWS_SECRET_ACCESS_KEY"),
		Region:    "us-east-1",
	}
	if o.Endpoint == "" || o.AccessKey == "" || o.SecretKey == "" {
		msg := "no S3 server: run eval \"$(scripts/s3-test-server.sh start)\""
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	var b [6]byte
	rand.Read(b[:])
	o.Bucket = "imgward-test-" + hex.EncodeToString(b[:])
	c := Client(t, o)
	if err := c.MakeBucket(context.Background(), o.Bucket, minio.MakeBucketOptions{Region: o.Region}); err != nil {
		t.Fatalf("creating bucket %s: %v", o.Bucket, err)
	}
	return o
}

// URL returns the s3:// URL of o, as --blob takes it.
func URL(o s3.Options) string {
	return "s3://" + o.Bucket + "?" + url.Values{"endpoint": {o.Endpoint}, "region": {o.Region}}.Encode()
}

// Client returns a client of the test server, to look behind a store's back.
func Client(t testing.TB, o s3.Options) *minio.Core {
	t.Helper()
	u, err := url.Parse(o.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	c, err := minio.NewCore(u.Host, &minio.Options{
		Creds: credentials.NewStaticV4(o.AccessKey, o.SecretKey, ""), Secure: u.Scheme == "https",
		Region: o.Region, BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
