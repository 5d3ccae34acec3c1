package sensitive

import (
	"archive/tar"
	"bytes"
	"io"
	"strings"
	"testing"

	"imgward/errors"
	"imgward/seal"
)

var (
	testKey    = bytes.Repeat([]byte{8}, 32)
	testHeader = seal.Header{ImageID: "img-1", Owner: "owner-1", KeyID: "k1", KeyVersion: 1}
)

type entry struct {
	name, body string
	typ        byte
}

var rootfs = []entry{
	{"etc/", "", tar.TypeDir},
	{"etc/hostname", "web-1\n", tar.TypeReg},
	{"etc/shadow", "root:$6$abc$0123456789abcdef:19000:0:99999:7:::\n", tar.TypeReg},
	{"etc/ssh/ssh_host_ed25519_key", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n", tar.TypeReg},
	{"etc/ssh/ssh_host_ed25519_key.pub", "ssh-ed25519 AAAA root@web\n", tar.TypeReg},
	{"usr/share/big", strings.Repeat("x", 5000), tar.TypeReg},
	{"usr/bin/sh", "", tar.TypeSymlink},
	{"opt/" + strings.Repeat("long/", 30) + ".env", "API_TOKEN=abc\n", tar.TypeReg},
}

func makeTar(t *testing.T, es []entry) []byte {
	t.Helper()
	var ls []lentry
	for _, e := range es {
		l := lentry{name: e.name, body: e.body, typ: e.typ}
		if e.typ == tar.TypeSymlink {
			l.link = "/bin/busybox"
		}
		ls = append(ls, l)
	}
	return tarOf(t, ls...)
}

// contents reads a tar into name -> content, and the PAX records of each.
func contents(t *testing.T, data []byte) (map[string]string, map[string]map[string]string) {
	t.Helper()
	c, pax := map[string]string{}, map[string]map[string]string{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return c, pax
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		c[h.Name], pax[h.Name] = string(b), h.PAXRecords
	}
}

func TestSealUnseal(t *testing.T) {
	src := makeTar(t, rootfs)
	var sealed bytes.Buffer
	found, err := SealSensitive(&sealed, bytes.NewReader(src), testKey, testHeader)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"etc/shadow": KindShadow, "etc/ssh/ssh_host_ed25519_key": KindSSHHostKey, rootfs[7].name: KindEnv}
	if len(found) != len(want) {
		t.Fatalf("found %v", found)
	}
	for _, f := range found {
		if want[f.Path] != f.Kind {
			t.Errorf("found %+v, want kind %q", f, want[f.Path])
		}
		// Offset points at the entry's seal header in the output.
		if h, err := seal.ParseHeader(bytes.NewReader(sealed.Bytes()[f.Offset:])); err != nil || *h != testHeader {
			t.Errorf("%s: no seal header at offset %d: %v", f.Path, f.Offset, err)
		}
	}
	plain, _ := contents(t, src)
	got, pax := contents(t, sealed.Bytes())
	for name, body := range plain {
		if _, sensitive := want[name]; sensitive {
			if pax[name][PAXSealed] != "v1" || strings.Contains(got[name], body) {
				t.Errorf("%s: not sealed: %v", name, pax[name])
			}
			h, err := seal.ParseHeader(strings.NewReader(got[name]))
			if err != nil || *h != testHeader {
				t.Errorf("%s: seal header %+v, %v", name, h, err)
			}
		} else if got[name] != body {
			t.Errorf("%s: content changed", name)
		}
	}
	// The rest is byte for byte: the tail after the last sealed entry too.
	if !bytes.HasSuffix(sealed.Bytes(), src[len(src)-1024:]) {
		t.Error("trailer not copied as it was")
	}

	var back bytes.Buffer
	h, err := UnsealSensitive(&back, bytes.NewReader(sealed.Bytes()), testKey)
	if err != nil {
		t.Fatal(err)
	}
	if h == nil || *h != testHeader {
		t.Errorf("header = %+v", h)
	}
	restored, pax := contents(t, back.Bytes())
	for name, body := range plain {
		if restored[name] != body || pax[name][PAXSealed] != "" {
			t.Errorf("%s: not restored", name)
		}
	}

	wrong := bytes.Repeat([]byte{9}, 32)
	if _, err := UnsealSensitive(io.Discard, bytes.NewReader(sealed.Bytes()), wrong); !errors.IsErr(err, seal.ErrAuth) {
		t.Errorf("wrong key: %v", err)
	}
}

func TestNothingSensitiveIsIdentical(t *testing.T) {
	src := makeTar(t, []entry{rootfs[0], rootfs[1], rootfs[4], rootfs[5], rootfs[6]})
	var out bytes.Buffer
	found, err := SealSensitive(&out, bytes.NewReader(src), testKey, testHeader)
	if err != nil || len(found) != 0 {
		t.Fatalf("found %v, %v", found, err)
	}
	if !bytes.Equal(out.Bytes(), src) {
		t.Fatal("an archive without secrets changed")
	}
}

func TestScanLimits(t *testing.T) {
	s := Scanner{MaxScan: 100}
	big := "-----BEGIN PRIVATE KEY-----\n" + strings.Repeat("A", 200)
	src := makeTar(t, []entry{{"root/big.pem", big, tar.TypeReg}, {"etc/ssh/ssh_host_rsa_key", big, tar.TypeReg}})
	found, err := s.Scan(bytes.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found[0].Kind != KindSSHHostKey {
		t.Fatalf("found %v: a file over MaxScan is judged by its path", found)
	}
	// Sealing a large entry streams it.
	var out, back bytes.Buffer
	if _, err := s.SealSensitive(&out, bytes.NewReader(src), testKey, testHeader); err != nil {
		t.Fatal(err)
	}
	if _, err := UnsealSensitive(&back, &out, testKey); err != nil {
		t.Fatal(err)
	}
	if c, _ := contents(t, back.Bytes()); c["etc/ssh/ssh_host_rsa_key"] != big {
		t.Fatal("large sealed entry not restored")
	}
	if _, err := s.Scan(strings.NewReader("not a tar archive at all, but long enough? no")); !errors.Is(errors.Invalid, err) {
		t.Errorf("garbage: %v", err)
	}
}

// TestFakeSealedMark checks that an entry marked sealed must hold a sealed
// blob: a mark on plaintext would let a secret through unjudged. A truly
// sealed entry passes as it is.
func TestFakeSealedMark(t *testing.T) {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	body := "root:$6$abcdefgh$0123456789abcdefghij:19000::::::\n"
	tw.WriteHeader(&tar.Header{Name: "etc/shadow", Typeflag: tar.TypeReg, Size: int64(len(body)),
		PAXRecords: map[string]string{PAXSealed: "v1", PAXSize: "51"}})
	tw.Write([]byte(body))
	tw.Close()
	_, err := SealSensitive(io.Discard, bytes.NewReader(b.Bytes()), testKey, testHeader)
	if !errors.Is(errors.Invalid, err) || !strings.Contains(err.Error(), "holds no sealed content") {
		t.Errorf("plaintext marked sealed: %v", err)
	}

	var sealed, again bytes.Buffer
	if _, err := SealSensitive(&sealed, bytes.NewReader(makeTar(t, rootfs)), testKey, testHeader); err != nil {
		t.Fatal(err)
	}
	found, err := SealSensitive(&again, bytes.NewReader(sealed.Bytes()), testKey, testHeader)
	if err != nil || len(found) != 0 || !bytes.Equal(again.Bytes(), sealed.Bytes()) {
		t.Errorf("sealing a sealed archive again: %v, %v, changed %v", found, err, !bytes.Equal(again.Bytes(), sealed.Bytes()))
	}
}
