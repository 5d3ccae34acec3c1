package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"imgward/blob/s3/s3test"
)

// TestServeBlobFlags checks that a bad --blob stops serve at start with a
// reason, and that no credential is taken from the URL or printed.
func TestServeBlobFlags(t *testing.T) {
	creds := map[string]string{"AWS_ACCESS_KEY_ID": "AKEXAMPLE", "AWS_SECRET_ACCESS_KEY": "sekrit-value"}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		msg  string
	}{
		{"unknown scheme", []string{"--blob", "gs://bucket"}, creds, `unknown blob store "gs": choose file or s3`},
		{"not a URL", []string{"--blob", "bucket"}, creds, "--blob takes a URL"},
		{"no endpoint", []string{"--blob", "s3://bucket"}, creds, "needs endpoint="},
		{"no credentials", []string{"--blob", "s3://bucket?endpoint=http://127.0.0.1:1"}, nil, "set AWS_ACCESS_KEY_ID"},
		{"credentials in URL", []string{"--blob", "s3://AK:sekrit-value@bucket?endpoint=http://127.0.0.1:1"}, nil, "not in the URL"},
		{"both", []string{"--blob", "s3://bucket?endpoint=http://127.0.0.1:1", "--blob-dir", "/tmp/x"}, creds, "not both"},
		{"relative file", []string{"--blob", "file:blobs"}, creds, "file:///absolute/directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			args := append([]string{"serve", "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0"}, tt.args...)
			code := run(args, nil, &out, &errb, func(k string) string { return tt.env[k] })
			if code != 1 || !strings.Contains(errb.String(), tt.msg) {
				t.Fatalf("exit %d, stderr %q; want 1 and %q", code, errb.String(), tt.msg)
			}
			if strings.Contains(errb.String()+out.String(), "sekrit-value") {
				t.Fatal("the secret key was printed")
			}
		})
	}
}

// TestServeS3SurvivesKill runs the imgward binary with --blob s3://… and
// the credentials in its environment: an upload of several parts comes
// back whole, and one cut by kill -9 leaves no object in the bucket and the
// image queued.
func TestServeS3SurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the server as a process")
	}
	o := s3test.Options(t)
	dir := t.TempDir()
	srv, url := serveProcess(t, dir, "--blob", s3test.URL(o))
	tok, err := os.ReadFile(filepath.Join(dir, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	c := &crashClient{t: t, url: url, tok: strings.TrimSpace(string(tok))}
	newImage := func() string {
		var img struct{ ID string }
		json.Unmarshal(c.do("POST", "/v2/images", "application/json", strings.NewReader(`{"name":"d","disk_format":"raw","container_format":"bare"}`), 201), &img)
		return img.ID
	}
	done, cut := newImage(), newImage()
	data := bytes.Repeat([]byte("object "), (18<<20)/7)
	c.do("PUT", "/v2/images/"+done+"/file", "application/octet-stream", bytes.NewReader(data), 204)
	if b := c.do("GET", "/v2/images/"+done+"/file", "", nil, 200); !bytes.Equal(b, data) {
		t.Fatal("download differs from the upload")
	}

	c.killDuringUpload(srv, cut)

	_, c.url = serveProcess(t, dir, "--blob", s3test.URL(o))
	if got := c.image(cut); got["status"] != "queued" {
		t.Fatalf("interrupted upload after restart: %v", got)
	}
	var keys []string
	for obj := range s3test.Client(t, o).Client.ListObjects(context.Background(), o.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		keys = append(keys, obj.Key)
	}
	if len(keys) != 1 || keys[0] != done {
		t.Fatalf("bucket holds %v, want only %s", keys, done)
	}
	if b := c.do("GET", "/v2/images/"+done+"/file", "", nil, 200); !bytes.Equal(b, data) {
		t.Fatal("acknowledged data changed after kill -9")
	}
}
