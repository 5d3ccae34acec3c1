package main

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeTLS runs "imgward serve --tls-cert --tls-key" as a process and
// talks to it with a real TLS client: HTTP/2 is negotiated, an upload
// goes through, and a stalled upload over HTTP/2 is ended by the upload
// limits with 400 within its window.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	pool, cert, key := selfSigned(t, dir)
	_, url := serveProcess(t, filepath.Join(dir, "data"), "--tls-cert", cert, "--tls-key", key,
		"--upload-min-rate", "2048", "--upload-window", "500ms")
	if !strings.HasPrefix(url, "https://") {
		t.Fatalf("serving on %s, want https", url)
	}
	tok, err := os.ReadFile(filepath.Join(dir, "data", "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	do := func(method, path, ctype string, body io.Reader, length int64) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, url+path, body)
		req.Header.Set("X-Auth-Token", strings.TrimSpace(string(tok)))
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		if length > 0 {
			req.ContentLength = length
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	resp, _ := do("GET", "/healthz", "", nil, 0)
	if resp.StatusCode != 200 || resp.Proto != "HTTP/2.0" {
		t.Fatalf("healthz: %d over %s, want 200 over HTTP/2.0", resp.StatusCode, resp.Proto)
	}
	create := func() string {
		t.Helper()
		_, b := do("POST", "/v2/images", "application/json",
			strings.NewReader(`{"name":"x","disk_format":"raw","container_format":"bare"}`), 0)
		var img struct{ ID string }
		json.Unmarshal(b, &img)
		return img.ID
	}
	data := bytes.Repeat([]byte("imgward "), 32<<10)
	x := create()
	if resp, b := do("PUT", "/v2/images/"+x+"/file", "application/octet-stream", bytes.NewReader(data), 0); resp.StatusCode != 204 {
		t.Fatalf("upload over HTTP/2: %d %s", resp.StatusCode, b)
	}
	if resp, b := do("GET", "/v2/images/"+x+"/file", "", nil, 0); resp.StatusCode != 200 || !bytes.Equal(b, data) {
		t.Fatalf("download over HTTP/2: %d, %d bytes", resp.StatusCode, len(b))
	}

	// The CLI trusts the server's CA through IMGWARD_CACERT, and only then.
	caFile := filepath.Join(dir, "cert.pem")
	for _, tt := range []struct {
		name, ca string
		code     int
		msg      string
	}{
		{"trusted", caFile, 0, `"name": "x"`},
		{"no CA", "", 1, "certificate"},
		{"not PEM", filepath.Join(dir, "data", "admin.token"), 2, "holds no PEM certificate"},
		{"missing", filepath.Join(dir, "nothing.pem"), 2, "no such file"},
	} {
		env := map[string]string{"IMGWARD_URL": url, "IMGWARD_TOKEN": strings.TrimSpace(string(tok)), "IMGWARD_CACERT": tt.ca}
		var out, errOut bytes.Buffer
		code := run([]string{"image", "list", "-o", "json"}, nil, &out, &errOut, func(k string) string { return env[k] })
		if code != tt.code || !strings.Contains(out.String()+errOut.String(), tt.msg) {
			t.Errorf("whoami, IMGWARD_CACERT %s: exit %d, %q %q; want %d and %q", tt.name, code, out.String(), errOut.String(), tt.code, tt.msg)
		}
	}

	// A body that sends 8 KiB of the 1 MiB it announced, then stalls.
	y := create()
	pr, pw := io.Pipe()
	defer pw.Close()
	go pw.Write(make([]byte, 8<<10))
	start := time.Now()
	resp, b := do("PUT", "/v2/images/"+y+"/file", "application/octet-stream", pr, 1<<20)
	if took := time.Since(start); resp.StatusCode != 400 || !bytes.Contains(b, []byte("upload too slow")) || took > 5*time.Second {
		t.Errorf("stalled upload over HTTP/2: %d %s after %s; want 400 upload too slow within the window", resp.StatusCode, b, took)
	}
}

// TestServeFlagErrors checks that bad TLS and upload flags stop the start.
func TestServeFlagErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--tls-cert", "c.pem"}, "--tls-cert and --tls-key go together"},
		{[]string{"--upload-min-rate", "-1"}, "--upload-min-rate must be"},
		{[]string{"--upload-window", "0"}, "--upload-window must be"},
		{[]string{"--upload-timeout", "soon"}, "--upload-timeout must be"},
		{[]string{"--demo"}, "--demo makes a data directory and store of its own: drop --data-dir"},
	} {
		var out, errOut bytes.Buffer
		code := run(append([]string{"serve", "--data-dir", t.TempDir()}, tt.args...), nil, &out, &errOut, func(string) string { return "" })
		if code != 2 || !strings.Contains(errOut.String(), tt.msg) {
			t.Errorf("serve %v: exit %d, %q; want 2 and %q", tt.args, code, errOut.String(), tt.msg)
		}
	}
}

// TestServePlainWarning checks that serving without TLS on an address
// other hosts reach warns at start, and on loopback does not.
func TestServePlainWarning(t *testing.T) {
	for _, tt := range []struct {
		listen string
		warn   bool
	}{{"127.0.0.1:0", false}, {"0.0.0.0:0", true}} {
		cmd := exec.Command(os.Args[0], "serve", "--data-dir", t.TempDir(), "--listen", tt.listen, "--log-level", "error")
		cmd.Env = append(os.Environ(), "IMGWARD_TEST_AS_MAIN=1")
		var errOut bytes.Buffer
		cmd.Stderr = &errOut
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		for sc.Scan() && !strings.HasPrefix(sc.Text(), "imgward serving on ") {
		}
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		if got := strings.Contains(errOut.String(), "without TLS"); got != tt.warn {
			t.Errorf("--listen %s: warning %v, want %v; stderr %q", tt.listen, got, tt.warn, errOut.String())
		}
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key under dir and
// returns a pool that trusts it and the two files.
func selfSigned(t *testing.T, dir string) (*x509.CertPool, string, string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "imgward test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return pool, cert, key
}
