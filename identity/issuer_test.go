package identity

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"imgward/errors"
)

// t0 is the time documents are issued at in tests.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func sampleDoc() Document {
	return Document{
		InstanceID: "i-0123456789abcdef",
		ImageID:    "6f1c7a52-3b9e-4c1d-8a2f-0e5d4c3b2a19",
		ProjectID:  "0123456789abcdef0123456789abcdef",
		UserID:     "fedcba9876543210fedcba9876543210",
		Host:       "compute-1.example.net",
	}
}

func newIssuer(t testing.TB) (*Issuer, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	i, err := OpenIssuer(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	return i, dir
}

func issue(t testing.TB, i *Issuer) string {
	t.Helper()
	d := sampleDoc()
	tok, err := i.Issue(&d, t0)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func mustVerify(t *testing.T, v Verifier, tok string) *Document {
	t.Helper()
	d, err := v.Verify(tok, t0.Add(time.Minute))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return d
}

func TestIssueVerify(t *testing.T) {
	i, _ := newIssuer(t)
	d := sampleDoc()
	tok, err := i.Issue(&d, t0.Add(500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if !d.IssuedAt.Equal(t0) || !d.ExpiresAt.Equal(t0.Add(DefaultTTL)) || len(d.Nonce) != 22 {
		t.Errorf("Issue filled in %v, %v, %q", d.IssuedAt, d.ExpiresAt, d.Nonce)
	}
	got := mustVerify(t, i, tok)
	if *got != d {
		t.Errorf("Verify = %+v, want %+v", *got, d)
	}
	d2 := sampleDoc()
	if _, err := i.Issue(&d2, t0); err != nil || d2.Nonce == d.Nonce {
		t.Errorf("two documents share nonce %q (%v)", d.Nonce, err)
	}
}

func TestIssueInvalid(t *testing.T) {
	i, _ := newIssuer(t)
	for name, edit := range map[string]func(*Document){
		"instance": func(d *Document) { d.InstanceID = "i-123" },
		"image":    func(d *Document) { d.ImageID = "6F1C7A52-3B9E-4C1D-8A2F-0E5D4C3B2A19" },
		"project":  func(d *Document) { d.ProjectID = "" },
		"user":     func(d *Document) { d.UserID = "x" },
		"host":     func(d *Document) { d.Host = "evil\nhost" },
	} {
		d := sampleDoc()
		edit(&d)
		if _, err := i.Issue(&d, t0); !errors.Is(errors.Invalid, err) {
			t.Errorf("%s: Issue = %v, want kind Invalid", name, err)
		}
	}
}

// TestRotate checks that rotated keys verify until retired, and that the
// ring survives a reopen.
func TestRotate(t *testing.T) {
	ctx := context.Background()
	i, dir := newIssuer(t)
	old := issue(t, i)
	oldKID := i.Keys().Keys[0].KeyID
	kid, err := i.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if kid == oldKID {
		t.Fatal("Rotate kept the key id")
	}
	cur := issue(t, i)
	mustVerify(t, i, old)
	mustVerify(t, i, cur)
	keys := i.Keys().Keys
	if len(keys) != 2 || keys[0].KeyID != kid || keys[1].KeyID != oldKID {
		t.Errorf("Keys after Rotate = %v, want [%s %s]", keys, kid, oldKID)
	}

	re, err := OpenIssuer(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	mustVerify(t, re, old)
	mustVerify(t, re, cur)
	if err := re.Retire(ctx, oldKID); err != nil {
		t.Fatal(err)
	}
	_, err = re.Verify(old, t0)
	if !errors.Is(errors.Permission, err) || errors.Message(err) != "unknown identity signing key" {
		t.Errorf("Verify by a retired key: %v", err)
	}
	if err := re.Retire(ctx, kid); !errors.Is(errors.Conflict, err) {
		t.Errorf("Retire of the current key: %v, want kind Conflict", err)
	}
	if err := re.Retire(ctx, oldKID); !errors.Is(errors.NotExist, err) {
		t.Errorf("Retire of an unknown key: %v, want kind NotExist", err)
	}
	re, err = OpenIssuer(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(re.Keys().Keys); n != 1 {
		t.Errorf("after Retire and reopen, %d keys, want 1", n)
	}
}

// TestKeyFile checks the key file's mode, that it keeps one private key
// only, and that Open refuses one that others may read.
func TestKeyFile(t *testing.T) {
	i, dir := newIssuer(t)
	if _, err := i.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, KeyFile)
	for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s has mode %#o, want %#o", p, fi.Mode().Perm(), want)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(data), `"seed"`); n != 1 {
		t.Errorf("key file holds %d private keys, want 1", n)
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenIssuer(dir, 0); !errors.Is(errors.Permission, err) {
		t.Errorf("OpenIssuer with a key file of mode 0640: %v, want kind Permission", err)
	}
	os.Chmod(path, 0o600)
	os.WriteFile(path, []byte(strings.Replace(string(data), `"kid": "`, `"kid": "x`, 1)), 0o600)
	if _, err := OpenIssuer(dir, 0); !errors.Is(errors.Invalid, err) {
		t.Errorf("OpenIssuer with a wrong key id: %v, want kind Invalid", err)
	}
}

// TestJWKS checks that the published key set holds no private key and
// verifies what the issuer signs.
func TestJWKS(t *testing.T) {
	i, _ := newIssuer(t)
	tok := issue(t, i)
	data, err := json.Marshal(i.Keys())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), `"d"`) {
		t.Errorf("JWKS holds a private key: %s", data)
	}
	var jwks jose.JSONWebKeySet
	if err := json.Unmarshal(data, &jwks); err != nil {
		t.Fatal(err)
	}
	ks, err := NewKeySet(jwks)
	if err != nil {
		t.Fatal(err)
	}
	mustVerify(t, ks, tok)

	priv := i.state.Load().current.priv
	bad := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: priv.Public(), KeyID: "k", Algorithm: "HS256"}}}
	if _, err := NewKeySet(bad); !errors.Is(errors.Invalid, err) {
		t.Errorf("NewKeySet with alg HS256: %v, want kind Invalid", err)
	}
}
