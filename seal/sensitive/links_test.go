package sensitive

import (
	"archive/tar"
	"bytes"
	"io"
	"strings"
	"testing"

	"imgward/errors"
)

// lentry is a tar entry that may be a link.
type lentry struct {
	name, body string
	typ        byte
	link       string
}

func tarOf(t *testing.T, es ...lentry) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range es {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		h := &tar.Header{Name: e.name, Typeflag: typ, Mode: 0o600, Linkname: e.link}
		if typ == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(e.body))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func hard(name, target string) lentry { return lentry{name: name, typ: tar.TypeLink, link: target} }
func sym(name, target string) lentry  { return lentry{name: name, typ: tar.TypeSymlink, link: target} }

const (
	shadowBody = "root:$6$abcdefgh$0123456789abcdefghij:19000:0:99999:7:::\n"
	netrcBody  = "machine db.example login app password hunter2\n"
	pgpassBody = "db.internal:5432:*:app:s3cretPW\n"
	plainBody  = "welcome to web-1\n"
)

// TestLinks checks that every name of a file counts: a file that is
// sensitive under a name it has through a hard or symbolic link is sealed
// when it can still be, and the archive is refused when its content went
// out in the clear before the link that makes it sensitive.
func TestLinks(t *testing.T) {
	tests := []struct {
		name    string
		entries []lentry
		sealed  []string // entries whose content must be sealed
		refuse  string   // an error naming this, instead
	}{
		{"etc/shadow a hard link to an earlier file", []lentry{
			{name: "var/lib/x/data", body: shadowBody}, hard("etc/shadow", "var/lib/x/data")},
			[]string{"var/lib/x/data"}, ""},
		{"etc/shadow- a hard link to etc/shadow", []lentry{
			{name: "etc/shadow", body: shadowBody}, hard("etc/shadow-", "etc/shadow")},
			[]string{"etc/shadow"}, ""},
		{"rootfs prefix, shadow a hard link", []lentry{
			{name: "./rootfs/etc/shadow-", body: shadowBody}, hard("./rootfs/etc/shadow", "./rootfs/etc/shadow-")},
			[]string{"./rootfs/etc/shadow-"}, ""},
		{".netrc a hard link to an earlier clear file", []lentry{
			{name: "srv/netrc.txt", body: netrcBody}, hard("home/bob/.netrc", "srv/netrc.txt")},
			nil, "home/bob/.netrc is a hard link to srv/netrc.txt"},
		{"licence name a hard link to an earlier clear file", []lentry{
			{name: "srv/seat", body: "ABCD-1234"}, hard("opt/acme/seat.lic", "srv/seat")},
			nil, "opt/acme/seat.lic is a hard link to srv/seat"},
		{"harmless hard link", []lentry{
			{name: "etc/shadow", body: shadowBody}, {name: "etc/motd", body: plainBody}, hard("etc/motd.old", "etc/motd")},
			[]string{"etc/shadow"}, ""},
		{".netrc a symlink to a later file", []lentry{
			sym("home/bob/.netrc", "../../srv/netrc.txt"), {name: "srv/netrc.txt", body: netrcBody}},
			[]string{"srv/netrc.txt"}, ""},
		{".netrc a symlink to an earlier file", []lentry{
			{name: "srv/netrc.txt", body: netrcBody}, sym("home/bob/.netrc", "/srv/netrc.txt")},
			nil, "home/bob/.netrc is a symbolic link to srv/netrc.txt"},
		{"symlink to an earlier harmless file", []lentry{
			{name: "etc/shadow", body: shadowBody}, {name: "etc/motd", body: plainBody}, sym("root/.netrc", "/etc/motd")},
			[]string{"etc/shadow"}, ""},
		{"absolute symlink under a rootfs prefix", []lentry{
			sym("rootfs/root/.pgpass", "/srv/pg"), {name: "rootfs/srv/pg", body: pgpassBody}},
			[]string{"rootfs/srv/pg"}, ""},
		{"directory symlink to a later directory", []lentry{
			sym("root/.aws", "/data/aws"), {name: "data/aws/credentials", body: "[default]\naws_secret_access_key = x\n"}},
			[]string{"data/aws/credentials"}, ""},
		{"directory symlink to an earlier directory", []lentry{
			{name: "data/gc/credentials.db", body: "SQLite format 3\x00"}, sym("root/.config/gcloud", "/data/gc")},
			nil, "root/.config/gcloud is a symbolic link to data/gc/credentials.db"},
		{"chain of symlinks", []lentry{
			sym("a/.netrc", "b"), sym("a/b", "c"), {name: "a/c", body: netrcBody}},
			[]string{"a/c"}, ""},
		{"symlink loop", []lentry{
			sym("a/x", "y"), sym("a/y", "x"), {name: "etc/shadow", body: shadowBody}},
			[]string{"etc/shadow"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := tarOf(t, tc.entries...)
			var out bytes.Buffer
			found, err := SealSensitive(&out, bytes.NewReader(src), testKey, testHeader)
			_, scanErr := (&Scanner{}).Scan(bytes.NewReader(src))
			if tc.refuse != "" {
				for _, err := range []error{err, scanErr} {
					if !errors.Is(errors.Invalid, err) || !strings.Contains(err.Error(), tc.refuse) {
						t.Errorf("err = %v, want Invalid naming %q", err, tc.refuse)
					}
				}
				return
			}
			if err != nil || scanErr != nil {
				t.Fatalf("seal: %v; scan: %v", err, scanErr)
			}
			var got []string
			for _, f := range found {
				got = append(got, f.Path)
			}
			if strings.Join(got, ",") != strings.Join(tc.sealed, ",") {
				t.Errorf("sealed %q, want %q", got, tc.sealed)
			}
			for _, e := range tc.entries {
				if contains(tc.sealed, e.name) && bytes.Contains(out.Bytes(), []byte(e.body)) {
					t.Errorf("%s in the clear", e.name)
				}
			}
			var back bytes.Buffer
			if _, err := UnsealSensitive(&back, &out, testKey); err != nil {
				t.Fatal(err)
			}
			c, _ := contents(t, back.Bytes())
			for _, e := range tc.entries {
				if e.typ == 0 && c[strings.TrimPrefix(e.name, "./")] != e.body && c[e.name] != e.body {
					t.Errorf("%s not restored", e.name)
				}
			}
		})
	}
}

// TestArchiveEnd checks that an archive cut short or followed by data is
// refused, and that the zeros tar pads a record with are not.
func TestArchiveEnd(t *testing.T) {
	good := tarOf(t, lentry{name: "etc/shadow", body: shadowBody}, lentry{name: "etc/motd", body: plainBody})
	body := good[:len(good)-1024] // the entries without the end blocks
	tests := []struct {
		name string
		data []byte
		err  string // "" for accepted
	}{
		{"whole", good, ""},
		{"padded to a record", append(bytes.Clone(good), make([]byte, 10240-len(good)%10240)...), ""},
		{"no end blocks", body, "truncated"},
		{"one end block", append(bytes.Clone(body), make([]byte, 512)...), "truncated"},
		{"cut in an entry", good[:700], "truncated"},
		{"garbage after the end", append(bytes.Clone(good), "hidden"...), "data after the end"},
		{"garbage after padding", append(append(bytes.Clone(good), make([]byte, 4096)...), 1), "data after the end"},
		{"a tar after the end", append(bytes.Clone(good), good...), "data after the end"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			_, err := SealSensitive(&out, bytes.NewReader(tc.data), testKey, testHeader)
			_, scanErr := (&Scanner{}).Scan(bytes.NewReader(tc.data))
			for _, err := range []error{err, scanErr} {
				if tc.err == "" && err != nil {
					t.Fatalf("refused: %v", err)
				}
				if tc.err != "" && (!errors.Is(errors.Invalid, err) || !strings.Contains(err.Error(), tc.err)) {
					t.Errorf("err = %v, want Invalid with %q", err, tc.err)
				}
			}
			// Unsealing copies any end as it is: images stored before the
			// rule must still open.
			var copied bytes.Buffer
			if _, err := UnsealSensitive(&copied, bytes.NewReader(tc.data), testKey); err != nil && tc.name != "cut in an entry" ||
				err == nil && !bytes.Equal(copied.Bytes(), tc.data) {
				t.Errorf("unsealing the archive as stored: %v", err)
			}
			if tc.err == "" {
				if _, err := UnsealSensitive(io.Discard, bytes.NewReader(out.Bytes()), testKey); err != nil {
					t.Fatal(err)
				}
				// The end, padding included, is copied as it was.
				if !bytes.HasSuffix(out.Bytes(), tc.data[len(good)-1024:]) {
					t.Error("end of archive not copied as it was")
				}
			}
		})
	}
}

// TestLinkReason checks that a file sealed for a name it has through a
// link says so, and which name.
func TestLinkReason(t *testing.T) {
	src := tarOf(t, sym("home/bob/.netrc", "../../srv/n"), lentry{name: "srv/n", body: netrcBody})
	found, err := (&Scanner{}).Scan(bytes.NewReader(src))
	if err != nil || len(found) != 1 {
		t.Fatalf("found %v, %v", found, err)
	}
	if f := found[0]; f.Path != "srv/n" || f.Kind != KindPassword || !strings.Contains(f.Reason, "as home/bob/.netrc, through a symbolic link") {
		t.Errorf("finding %+v", f)
	}
}
