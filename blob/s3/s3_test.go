package s3_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"imgward"
	"imgward/blob/blobtest"
	"imgward/blob/s3"
	"imgward/blob/s3/s3test"
	"imgward/errors"
)

func TestConformance(t *testing.T) {
	const part = 5 << 20
	opts := map[imgward.BlobStore]s3.Options{}
	blobtest.Run(t, blobtest.Backend{
		Open: func(t *testing.T) imgward.BlobStore {
			o := s3test.Options(t)
			o.PartSize = part
			s, err := s3.Open(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			opts[s] = o
			return s
		},
		// A failed Put must leave neither an object nor the parts of an
		// unfinished multipart upload in the bucket.
		Leftovers: func(t *testing.T, s imgward.BlobStore) []string {
			o := opts[s]
			c := s3test.Client(t, o)
			var left []string
			ups, err := c.ListMultipartUploads(context.Background(), o.Bucket, "", "", "", "", 1000)
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range ups.Uploads {
				left = append(left, "upload "+u.Key+" "+u.UploadID)
			}
			for obj := range c.Client.ListObjects(context.Background(), o.Bucket, minio.ListObjectsOptions{Recursive: true}) {
				if obj.Err != nil {
					t.Fatal(obj.Err)
				}
				left = append(left, "object "+obj.Key)
			}
			return left
		},
		// Two full parts and a short one: the streaming path, and a last
		// part smaller than the others.
		Large: 2*part + part/2,
	})
}

func TestParseURL(t *testing.T) {
	env := map[string]string{"AWS_ACCESS_KEY_ID": "AK", "AWS_SECRET_ACCESS_KEY": "SK"}
	getenv := func(k string) string { return env[k] }
	tests := []struct {
		url  string
		want s3.Options
		err  string
	}{
		{url: "s3://images?endpoint=http://127.0.0.1:8333&region=eu-1",
			want: s3.Options{Bucket: "images", Endpoint: "http://127.0.0.1:8333", Region: "eu-1", AccessKey: "AK", SecretKey: "SK"}},
		{url: "s3://images?endpoint=https%3A%2F%2Fs3.example", want: s3.Options{Bucket: "images", Endpoint: "https://s3.example", AccessKey: "AK", SecretKey: "SK"}},
		{url: "s3://images", err: "endpoint"},
		{url: "file:///x", err: "s3://"},
		{url: "s3://AK:SK@images?endpoint=http://x", err: "not in the URL"},
		{url: "s3://images/some/path?endpoint=http://x", err: "not a path"},
		{url: "s3://images?endpoint=http://x&secret=y", err: `unknown s3 URL parameter "secret"`},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			got, err := s3.ParseURL(tt.url, getenv)
			if tt.err != "" {
				if !errors.Is(errors.Invalid, err) || !strings.Contains(errors.Message(err), tt.err) {
					t.Fatalf("err = %v, want Invalid with %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
	if _, err := s3.ParseURL("s3://images?endpoint=http://x", func(string) string { return "" }); !errors.Is(errors.Invalid, err) ||
		!strings.Contains(errors.Message(err), "AWS_ACCESS_KEY_ID") {
		t.Fatalf("without credentials: %v", err)
	}
}

// TestOpenRefuses checks that a misconfigured store fails at start, with the
// kind that tells an operator what to fix, and that the server checks
// signatures: wrong keys are refused.
func TestOpenRefuses(t *testing.T) {
	good := s3test.Options(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	tests := []struct {
		name string
		edit func(o *s3.Options)
		kind errors.Kind
	}{
		{"no bucket", func(o *s3.Options) { o.Bucket = "imgward-absent-bucket" }, errors.Invalid},
		{"wrong secret", func(o *s3.Options) { o.SecretKey += "x" }, errors.Internal},
		{"unknown key", func(o *s3.Options) { o.AccessKey = "nobody" }, errors.Internal},
		{"unreachable", func(o *s3.Options) { o.Endpoint = closed }, errors.Unavailable},
		{"bad endpoint", func(o *s3.Options) { o.Endpoint = "ftp://x" }, errors.Invalid},
		{"small parts", func(o *s3.Options) { o.PartSize = 1 << 20 }, errors.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := good
			tt.edit(&o)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, err := s3.Open(ctx, o); !errors.Is(tt.kind, err) {
				t.Fatalf("err = %v, want kind %v", err, tt.kind)
			}
		})
	}
}
