package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"strings"
	"testing"

	"imgward/seal/sensitive"
)

func scanTar(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for name, body := range map[string]string{
		"etc/hostname":                 "web\n",
		"etc/shadow":                   "root:*:1::::::\nbob:$6$s$0123456789abcdef:1::::::\n",
		"etc/ssh/ssh_host_rsa_key":     "-----BEGIN OPENSSH PRIVATE KEY-----\n",
		"etc/ssh/ssh_host_rsa_key.pub": "ssh-rsa AAAA\n",
		"opt/acme/seat.dat":            "licence",
	} {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write([]byte(body))
	}
	tw.Close()
	return b.Bytes()
}

func TestScanCommand(t *testing.T) {
	data := scanTar(t)
	out, errOut, code := runCLI(t, offline, bytes.NewReader(data), "scan", "-")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.HasPrefix(out, "PATH") || !strings.Contains(out, "etc/shadow") || strings.Contains(out, ".pub") {
		t.Fatalf("table:\n%s", out)
	}

	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(data)
	zw.Close()
	out, errOut, code = runCLI(t, offline, &gz, "scan", "-", "--output", "json", "--licence", "*.dat")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var found []sensitive.Finding
	if err := json.Unmarshal([]byte(out), &found); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{}
	for _, f := range found {
		kinds[f.Path] = f.Kind
	}
	want := map[string]string{"etc/shadow": sensitive.KindShadow, "etc/ssh/ssh_host_rsa_key": sensitive.KindSSHHostKey, "opt/acme/seat.dat": sensitive.KindLicence}
	if len(kinds) != len(want) {
		t.Fatalf("found %v", found)
	}
	for p, k := range want {
		if kinds[p] != k {
			t.Errorf("%s: kind %q, want %q", p, kinds[p], k)
		}
	}

	for _, tc := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"scan"}, exitUsage, "missing FILE"},
		{[]string{"scan", "/nonexistent/x.tar"}, exitError, "no such file"},
		{[]string{"scan", "-", "--max-scan", "0"}, exitUsage, "--max-scan must be positive"},
		{[]string{"scan", "-"}, exitError, "hint: FILE must be a tar archive"},
	} {
		_, errOut, code := runCLI(t, offline, strings.NewReader("definitely not a tar archive, no, not at all........"), tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.err) {
			t.Errorf("%v: exit %d, stderr %q; want %d, %q", tc.args, code, errOut, tc.code, tc.err)
		}
	}
	if out, _, code := runCLI(t, offline, nil, "scan", "--help"); code != exitOK || !strings.Contains(out, "--max-scan N") {
		t.Errorf("help: %d %s", code, out)
	}
}
