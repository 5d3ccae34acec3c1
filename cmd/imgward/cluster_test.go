package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/minio/minio-go/v7"

	"imgward/blob/s3"
	"imgward/blob/s3/s3test"
	"imgward/broker"
	"imgward/store/storetest"
)

// clusterEnv is what scripts/cluster.sh start printed.
type clusterEnv map[string]string

// startCluster runs scripts/cluster.sh start n with env added, and stops
// the cluster when t ends.
func startCluster(t *testing.T, n int, env ...string) clusterEnv {
	t.Helper()
	storetest.PostgresServer(t) // skips, or fails in CI, as every PostgreSQL test
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	script, err := filepath.Abs("../../scripts/cluster.sh")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(script, "start", string(rune('0'+n)))
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("cluster.sh start: %v\n%s", err, stderr.String())
	}
	ce := clusterEnv{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "export "), "=")
		if ok {
			ce[k] = strings.Trim(v, "'")
		}
	}
	t.Cleanup(func() {
		if t.Failed() {
			for i := 1; i <= n; i++ {
				log, _ := os.ReadFile(filepath.Join(ce["IMGWARD_CLUSTER_DIR"], "node-"+string(rune('0'+i))+".log"))
				t.Logf("node %d log:\n%s", i, tail(string(log), 3000))
			}
		}
		ce.script(t, "stop")
	})
	return ce
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// script runs cluster.sh with args against this cluster.
func (ce clusterEnv) script(t *testing.T, args ...string) {
	t.Helper()
	script, _ := filepath.Abs("../../scripts/cluster.sh")
	cmd := exec.Command(script, args...)
	cmd.Env = append(os.Environ(), "IMGWARD_CLUSTER_DIR="+ce["IMGWARD_CLUSTER_DIR"], "PGTEST_DIR="+ce["PGTEST_DIR"])
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("cluster.sh %v: %v\n%s", args, err, out)
	}
}

func (ce clusterEnv) node(i int) string { return ce["IMGWARD_NODE_"+string(rune('0'+i))] }

// call sends a JSON body (or raw bytes, or a reader) to a node and returns
// the status and the body.
func call(t *testing.T, method, url, token string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	ctype := "application/json"
	switch v := body.(type) {
	case nil:
	case []byte:
		r, ctype = bytes.NewReader(v), "application/octet-stream"
	case io.Reader:
		r, ctype = v, "application/octet-stream"
	default:
		b, _ := json.Marshal(v)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, r)
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	req.Header.Set("Content-Type", ctype)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

// must is call that fails the test unless the status is want.
func must(t *testing.T, want int, method, url, token string, body, out any) {
	t.Helper()
	code, data := call(t, method, url, token, body)
	if code != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, url, code, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
	}
}

// releaseOn asks node url for image's key with identity and returns the
// status and, on success, the data key.
func releaseOn(t *testing.T, url, identity, image string) (int, []byte) {
	t.Helper()
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwk, _ := json.Marshal(jose.JSONWebKey{Key: &priv.PublicKey})
	code, data := call(t, "POST", url+"/v1/keys/release", "", map[string]any{
		"identity": identity, "image_id": image, "public_key": json.RawMessage(jwk)})
	if code != http.StatusOK {
		return code, data
	}
	var rel struct{ Key string }
	json.Unmarshal(data, &rel)
	key, err := broker.Open(rel.Key, priv)
	if err != nil {
		t.Fatalf("released key does not open: %v", err)
	}
	return code, key
}

func imageStatus(t *testing.T, url, token, id string) string {
	var img struct{ Status string }
	must(t, 200, "GET", url+"/v2/images/"+id, token, nil, &img)
	return img.Status
}

// TestClusterNodes is issue 15's three-node test over scripts/cluster.sh:
// real processes on one PostgreSQL, with the image data in a bucket of a
// real S3 server (SeaweedFS) and, again, in one shared directory. Launch on node
// 1, key release on node 2, replay on node 3 refused; master and identity
// keys rotated on node 2 and used on nodes 1 and 3; node 3 restarted during
// an upload to node 1, which completes; node 2 killed during an upload,
// whose image another node queues again; every node's /readyz fails while
// PostgreSQL is down and recovers without a restart.
func TestClusterNodes(t *testing.T) {
	for _, blob := range []string{"s3", "dir"} {
		t.Run(blob, func(t *testing.T) { testClusterNodes(t, blob) })
	}
}

func testClusterNodes(t *testing.T, blob string) {
	const lease = 2 * time.Second
	ce := startCluster(t, 3, "IMGWARD_LEASE_PERIOD="+lease.String(), "IMGWARD_KEY_REFRESH=1s",
		"IMGWARD_LOG_LEVEL=warn", "IMGWARD_CLUSTER_BLOB="+blob)
	n1, n2, n3 := ce.node(1), ce.node(2), ce.node(3)
	admin := ce["IMGWARD_TOKEN"]
	tenant := func(name string) (id, token string) {
		var p struct{ ID string }
		must(t, 201, "POST", n1+"/v1/projects", admin, map[string]string{"name": name}, &p)
		var u struct{ Token string }
		must(t, 201, "POST", n2+"/v1/users", admin, map[string]string{"name": name, "project_id": p.ID}, &u)
		return p.ID, u.Token
	}
	_, alice := tenant("alice")
	bob, bobTok := tenant("bob")
	create := func(url string, protect bool) string {
		a := map[string]any{"name": "img", "disk_format": "raw", "container_format": "bare"}
		if protect {
			a["imgward_protect"] = "full"
		}
		var img struct{ ID string }
		must(t, 201, "POST", url+"/v2/images", alice, a, &img)
		return img.ID
	}
	x := create(n1, true)
	must(t, 204, "PUT", n3+"/v2/images/"+x+"/file", alice, []byte("an image of the cluster"), nil)
	must(t, 200, "POST", n2+"/v2/images/"+x+"/members", alice, map[string]string{"member": bob}, nil)
	must(t, 200, "PUT", n3+"/v2/images/"+x+"/members/"+bob, bobTok, map[string]string{"status": "accepted"}, nil)
	launch := func(url string) string {
		var in struct{ Identity string }
		must(t, 201, "POST", url+"/v1/instances", bobTok, map[string]string{"image_id": x, "host": "compute-1"}, &in)
		return in.Identity
	}

	// Launch on 1, release on 2, replay on 3.
	id1 := launch(n1)
	code, key := releaseOn(t, n2, id1, x)
	if code != 200 {
		t.Fatalf("release on node 2 of an identity issued on node 1: %d %s", code, key)
	}
	if code, body := releaseOn(t, n3, id1, x); code == 200 {
		t.Fatalf("replay on node 3 released the key: %s", body)
	}

	// Master and identity keys rotated on 2, used on 1 and 3.
	var rot struct {
		Version uint32
		Retired []uint32
	}
	must(t, 200, "POST", n2+"/v1/keys/rotate", admin, map[string]bool{"retire_below": true}, &rot)
	if rot.Version != 2 || len(rot.Retired) != 1 {
		t.Fatalf("rotation on node 2: %+v, want v2 with v1 retired", rot)
	}
	var irot struct{ KID string }
	must(t, 200, "POST", n2+"/v1/identity/rotate", admin, nil, &irot)
	time.Sleep(1500 * time.Millisecond) // --key-refresh: nodes 1 and 3 sign with the new key
	for i, url := range []string{n1, n3} {
		identity := launch(url)
		code, got := releaseOn(t, []string{n3, n1}[i], identity, x)
		if code != 200 || !bytes.Equal(got, key) {
			t.Fatalf("after rotations on node 2, launch on %s and release elsewhere: %d %s", url, code, got)
		}
	}

	// Node 3 restarts during an upload to node 1, which completes.
	y := create(n1, false)
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		code, _ := call(t, "PUT", n1+"/v2/images/"+y+"/file", alice, io.Reader(pr))
		done <- code
	}()
	chunk := bytes.Repeat([]byte("x"), 1<<20)
	pw.Write(chunk)
	ce.script(t, "restart", "3")
	pw.Write(chunk)
	pw.Close()
	if code := <-done; code != 204 {
		t.Fatalf("upload to node 1 while node 3 restarted: %d", code)
	}
	if st := imageStatus(t, n3, alice, y); st != "active" {
		t.Fatalf("image uploaded during node 3's restart is %s", st)
	}

	// Node 2 dies during an upload: the image is queued again.
	z := create(n2, false)
	pr2, pw2 := io.Pipe()
	go func() {
		req, _ := http.NewRequest("PUT", n2+"/v2/images/"+z+"/file", pr2)
		req.Header.Set("X-Auth-Token", alice)
		req.Header.Set("Content-Type", "application/octet-stream")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	pw2.Write(chunk)
	for end := time.Now().Add(10 * time.Second); imageStatus(t, n1, alice, z) != "saving"; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("upload to node 2 never began")
		}
	}
	start := time.Now()
	ce.script(t, "kill", "2")
	pw2.CloseWithError(io.ErrUnexpectedEOF)
	for imageStatus(t, n1, alice, z) != "queued" {
		if time.Since(start) > time.Minute {
			t.Fatal("the image of node 2's upload is not queued a minute after node 2 died")
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("queued again %v after node 2 died (lease %v)", time.Since(start).Round(time.Millisecond), lease)
	must(t, 204, "PUT", n3+"/v2/images/"+z+"/file", alice, []byte("again"), nil)

	// PostgreSQL down: nodes not ready; up again: ready, no restart.
	pg := func(op string) {
		cmd := exec.Command("../../scripts/pg-test-server.sh", op)
		cmd.Env = append(os.Environ(), "PGTEST_DIR="+ce["PGTEST_DIR"])
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("pg-test-server.sh %s: %v\n%s", op, err, out)
		}
	}
	ready := func(url string) int { code, _ := call(t, "GET", url+"/readyz", "", nil); return code }
	pg("pause")
	for _, url := range []string{n1, n3} {
		if code := ready(url); code == 200 {
			t.Errorf("%s /readyz while PostgreSQL is down: 200", url)
		}
	}
	pg("resume")
	for _, url := range []string{n1, n3} {
		for end := time.Now().Add(30 * time.Second); ready(url) != 200; time.Sleep(200 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("%s /readyz not 200 30s after PostgreSQL came back", url)
			}
		}
	}
	must(t, 200, "GET", n1+"/v2/images/"+x, alice, nil, nil)

	// The image data is where the cluster keeps it: x (sealed), y and z
	// are three objects, nothing else (no upload left a temporary).
	if got := clusterBlobs(t, ce); len(got) != 3 {
		t.Errorf("%s holds %d blobs, want the 3 images': %v", blob, len(got), got)
	}
}

// clusterBlobs lists the image data a cluster stores: the objects of its
// bucket, or the files of its blob directory outside tmp/.
func clusterBlobs(t *testing.T, ce clusterEnv) []string {
	t.Helper()
	var names []string
	if u := ce["IMGWARD_CLUSTER_BLOB_URL"]; u != "" {
		o, err := s3.ParseURL(u, func(k string) string { return ce[k] })
		if err != nil {
			t.Fatal(err)
		}
		for obj := range s3test.Client(t, o).Client.ListObjects(context.Background(), o.Bucket, minio.ListObjectsOptions{Recursive: true}) {
			if obj.Err != nil {
				t.Fatal(obj.Err)
			}
			names = append(names, obj.Key)
		}
		return names
	}
	root := ce["IMGWARD_CLUSTER_BLOB_DIR"]
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() && rel == "tmp" {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			names = append(names, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}
