//go:build pkcs11

package pkcs11

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ThalesGroup/crypto11"
	p11 "github.com/miekg/pkcs11"

	"imgward"
	"imgward/errors"
	"imgward/kms/kmstest"
)

// testConfig returns the token that scripts/softhsm-test.sh made. Without
// one the test is skipped, except under CI=true, where it fails.
func testConfig(t *testing.T) Config {
	t.Helper()
	cfg := Config{
		Module:     os.Getenv("IMGWARD_TEST_PKCS11_MODULE"),
		TokenLabel: os.Getenv("IMGWARD_TEST_PKCS11_TOKEN"),
		PIN:        os.Getenv("IMGWARD_TEST_PKCS11_PIN"),
	}
	if cfg.Module == "" || cfg.TokenLabel == "" || cfg.PIN == "" {
		const msg = `no PKCS#11 token; run: eval "$(scripts/softhsm-test.sh)"`
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return cfg
}

func open(t *testing.T) *KeyService {
	t.Helper()
	ks, err := Open(testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ks.Close() })
	return ks
}

func TestConformance(t *testing.T) {
	testConfig(t)
	kmstest.Run(t, func(t *testing.T) imgward.KeyService { return open(t) })
}

// TestNonExtractable checks that master keys cannot leave the token.
func TestNonExtractable(t *testing.T) {
	ks := open(t)
	id := kmstest.NewKeyID()
	if err := ks.CreateKey(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	k, err := ks.find("test", id, 1)
	if err != nil {
		t.Fatal(err)
	}
	for typ, want := range map[crypto11.AttributeType]byte{
		crypto11.CkaExtractable:      0,
		crypto11.CkaSensitive:        1,
		crypto11.CkaToken:            1,
		crypto11.CkaNeverExtractable: 1,
	} {
		a, err := ks.ctx.GetAttribute(k, typ)
		if err != nil {
			t.Fatal(err)
		}
		if len(a.Value) != 1 || a.Value[0] != want {
			t.Errorf("attribute %#x = %x, want %d", typ, a.Value, want)
		}
	}
	a, err := ks.ctx.GetAttribute(k, crypto11.CkaValue)
	if err == nil && len(a.Value) > 0 {
		t.Errorf("token reveals the master key's value")
	}
}

// TestPersists checks that keys live in the token, not in the KeyService.
func TestPersists(t *testing.T) {
	ctx := context.Background()
	ks := open(t)
	id := kmstest.NewKeyID()
	if err := ks.CreateKey(ctx, id); err != nil {
		t.Fatal(err)
	}
	dk, w, err := ks.GenerateDataKey(ctx, id, []byte("img"))
	if err != nil {
		t.Fatal(err)
	}
	other := open(t)
	got, err := other.Unwrap(ctx, w, []byte("img"))
	if err != nil || string(got) != string(dk) {
		t.Fatalf("Unwrap by a second KeyService = %x, %v; want %x", got, err, dk)
	}
	if v, err := other.Rotate(ctx, id); err != nil || v != 2 {
		t.Fatalf("Rotate by a second KeyService = %d, %v; want 2", v, err)
	}
	if _, w2, err := ks.GenerateDataKey(ctx, id, nil); err != nil || w2.Version != 2 {
		t.Errorf("first KeyService wraps under v%d, %v; want v2", w2.Version, err)
	}
}

func TestWrongPIN(t *testing.T) {
	cfg := testConfig(t)
	cfg.PIN = "wrong-" + cfg.PIN
	_, err := Open(cfg)
	if !errors.Is(errors.Permission, err) {
		t.Errorf("Open with a wrong PIN: %v, want kind Permission", err)
	}
	if strings.Contains(err.Error(), cfg.PIN) {
		t.Errorf("error reveals the PIN: %v", err)
	}
}

func TestConfigHidesPIN(t *testing.T) {
	cfg := Config{Module: "/m.so", TokenLabel: "t", PIN: "s3cret-pin"}
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		if s := fmt.Sprintf(f, cfg); strings.Contains(s, "s3cret") {
			t.Errorf("%s of Config shows the PIN: %s", f, s)
		}
	}
	if s := fmt.Sprintf("%v", &cfg); strings.Contains(s, "s3cret") {
		t.Errorf("%%v of *Config shows the PIN: %s", s)
	}
}

func TestReadPIN(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "pin")
	os.WriteFile(good, []byte("1234\n"), 0o600)
	open := filepath.Join(dir, "open")
	os.WriteFile(open, []byte("1234\n"), 0o644)
	t.Setenv("IMGWARD_TEST_PIN_ENV", "5678")

	for _, tt := range []struct {
		source, want string
		kind         errors.Kind
	}{
		{"env:IMGWARD_TEST_PIN_ENV", "5678", 0},
		{"file:" + good, "1234", 0},
		{"file:" + open, "", errors.Permission},
		{"file:" + filepath.Join(dir, "none"), "", errors.NotExist},
		{"env:IMGWARD_TEST_NO_SUCH_VAR", "", errors.Invalid},
		{"1234", "", errors.Invalid},
		{"literal:1234", "", errors.Invalid},
	} {
		got, err := ReadPIN(tt.source)
		if got != tt.want || errors.KindOf(err) != tt.kind {
			t.Errorf("ReadPIN(%q) = %q, %v; want %q, kind %v", tt.source, got, err, tt.want, tt.kind)
		}
	}
}

// TestSigningKeyStaysInToken checks that the Ed25519 signing key is made in
// the token, sensitive and never extractable, and that a second
// KeyService signs with the same key.
func TestSigningKeyStaysInToken(t *testing.T) {
	ctx := context.Background()
	ks := open(t)
	id := kmstest.NewKeyID()
	if err := ks.CreateKey(ctx, id); err != nil {
		t.Fatal(err)
	}
	pub, err := ks.PublicKey(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := ks.sig.find(p11.CKO_PRIVATE_KEY, signLabel(id, 1))
	if err != nil || priv == 0 {
		t.Fatalf("private signing key in the token: %v, %v", priv, err)
	}
	as, err := ks.sig.ctx.GetAttributeValue(ks.sig.sess, priv, []*p11.Attribute{
		p11.NewAttribute(p11.CKA_EXTRACTABLE, nil), p11.NewAttribute(p11.CKA_SENSITIVE, nil),
		p11.NewAttribute(p11.CKA_NEVER_EXTRACTABLE, nil)})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []byte{0, 1, 1} {
		if len(as[i].Value) != 1 || as[i].Value[0] != want {
			t.Errorf("attribute %#x = %x, want %d", as[i].Type, as[i].Value, want)
		}
	}
	if _, err := ks.sig.ctx.GetAttributeValue(ks.sig.sess, priv, []*p11.Attribute{p11.NewAttribute(p11.CKA_VALUE, nil)}); err == nil {
		t.Errorf("token reveals the signing key's value")
	}
	other := open(t)
	msg := []byte("checkpoint")
	sig, err := other.Sign(ctx, id, msg)
	if err != nil || !ed25519.Verify(pub, msg, sig) {
		t.Errorf("a second KeyService's signature does not verify with the first's public key: %v", err)
	}
}
