package sensitive

import (
	"archive/tar"
	"bytes"
	"io"
	"testing"
)

func FuzzClassify(f *testing.F) {
	f.Add("etc/shadow", []byte("root:$6$x$0123456789abc:1::::::\n"))
	f.Add("root/.docker/config.json", []byte(`{"auths":{"a":{"auth":"x"}}}`))
	f.Add("x/.env", []byte("TOKEN=1"))
	f.Add("k", []byte("kind: Config\nusers:\n  token: x"))
	f.Fuzz(func(t *testing.T, name string, content []byte) {
		var s Scanner
		kind, reason, ok := s.Classify(name, content)
		if ok != (kind != "") || ok && reason == "" {
			t.Fatalf("Classify = %q, %q, %v", kind, reason, ok)
		}
	})
}

// FuzzSealTar checks that any archive that seals also unseals to the same
// entries, and that nothing panics on malformed input.
func FuzzSealTar(f *testing.F) {
	f.Add(makeTar(&testing.T{}, rootfs))
	f.Add([]byte{})
	f.Add(tarOf(&testing.T{}, sym("root/.aws", "/data/aws"), hard("etc/shadow", "x"),
		lentry{name: "data/aws/credentials", body: "aws_secret_access_key = x\n"}))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := Scanner{MaxScan: 4096}
		var sealed bytes.Buffer
		if _, err := s.SealSensitive(&sealed, bytes.NewReader(data), testKey, testHeader); err != nil {
			return
		}
		if _, err := UnsealSensitive(io.Discard, bytes.NewReader(sealed.Bytes()), testKey); err != nil {
			t.Fatalf("sealed archive does not unseal: %v", err)
		}
		// No entry left in the clear is sensitive under its own name.
		tr := tar.NewReader(bytes.NewReader(sealed.Bytes()))
		for {
			h, err := tr.Next()
			if err != nil {
				break
			}
			if h.Typeflag != tar.TypeReg || h.PAXRecords[PAXSealed] != "" || h.Size > s.MaxScan {
				continue
			}
			b, _ := io.ReadAll(tr)
			if kind, _, ok := s.Classify(h.Name, b); ok {
				t.Fatalf("%s (%s) left in the clear", h.Name, kind)
			}
		}
	})
}
