package main

import (
	"bytes"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containers/ocicrypt"
	kpconfig "github.com/containers/ocicrypt/config/keyprovider-config"
	"github.com/containers/ocicrypt/helpers"
	ockeyprovider "github.com/containers/ocicrypt/keywrap/keyprovider"
	"github.com/containers/ocicrypt/spec"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"imgward/broker/brokertest"
	"imgward/seal/ocikey"
)

// TestOcicryptInterop encrypts and decrypts a layer with ocicrypt, the
// library inside skopeo, containerd and CRI-O, parsing the keys as skopeo's
// --encryption-key and --decryption-key do, with this binary as the key
// provider run through the command protocol. Debian bookworm's skopeo links
// ocicrypt 1.0.3, which predates key providers, so this is where the
// provider meets the real protocol on such a machine; the real skopeo then
// copies the encrypted image, which must keep its layer and annotation.
func TestOcicryptInterop(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// ocicrypt registers the providers of $OCICRYPT_KEYPROVIDER_CONFIG when
	// it is loaded, before a test can set it: register imgward as it would.
	ocicrypt.RegisterKeyWrapper("provider."+ocikey.Provider, ockeyprovider.NewKeyWrapper(ocikey.Provider,
		kpconfig.KeyProviderAttrs{Command: &kpconfig.Command{Path: self, Args: []string{"keyprovider"}}}))

	key := bytes.Repeat([]byte{6}, 32)
	fake := brokertest.New()
	fake.AddImage(testImageID, key)
	fake.Bind("tok-bound", testImageID)
	srv := httptest.NewServer(fake)
	defer srv.Close()
	t.Setenv("IMGWARD_TEST_AS_MAIN", "1") // for the children only: TestMain has run

	layer := []byte(strings.Repeat("layer bytes ", 1000))
	desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: digest.FromBytes(layer), Size: int64(len(layer))}

	cc, err := helpers.CreateCryptoConfig([]string{"provider:imgward:" + testImageID}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("IMGWARD_DATA_KEY_FILE", writeFile(t, "key", key))
	r, finish, err := ocicrypt.EncryptLayer(cc.EncryptConfig, bytes.NewReader(layer), desc)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	annotations, err := finish()
	if err != nil {
		t.Fatalf("keywrap through the provider: %v", err)
	}
	if _, ok := annotations[ocikey.AnnotationID]; !ok || bytes.Contains(enc, layer[:64]) {
		t.Fatalf("no %s annotation, or plaintext in the layer: %v", ocikey.AnnotationID, annotations)
	}
	os.Unsetenv("IMGWARD_DATA_KEY_FILE")
	encDesc := ocispec.Descriptor{MediaType: spec.MediaTypeLayerEnc, Digest: digest.FromBytes(enc), Size: int64(len(enc)), Annotations: annotations}

	// The real skopeo carries the encrypted image, layer and annotations
	// intact, even one too old to decrypt it.
	skopeo := needProgram(t, "/usr/bin/skopeo")
	dir := t.TempDir()
	writeOCILayout(t, filepath.Join(dir, "enc"), enc, spec.MediaTypeLayerEnc, annotations, desc.Digest.String())
	cmd := exec.Command(skopeo, "--insecure-policy", "copy", "--quiet",
		"oci:"+filepath.Join(dir, "enc")+":v1", "oci:"+filepath.Join(dir, "copy")+":v1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("skopeo copy of the encrypted image: %v\n%s", err, out)
	}
	checkEncrypted(t, filepath.Join(dir, "copy"), testImageID)
	// Decrypt what skopeo wrote, not what ocicrypt returned.
	enc, err = os.ReadFile(filepath.Join(dir, "copy", "blobs", "sha256", encDesc.Digest.Encoded()))
	if err != nil || digest.FromBytes(enc) != encDesc.Digest {
		t.Fatalf("skopeo changed the encrypted layer: %v", err)
	}

	dc, err := helpers.CreateDecryptCryptoConfig([]string{"provider:imgward"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	decrypt := func(identity string) ([]byte, error) {
		t.Setenv("IMGWARD_URL", srv.URL)
		t.Setenv("IMGWARD_IDENTITY", writeFile(t, "id", []byte(identity)))
		r, _, err := ocicrypt.DecryptLayer(dc.DecryptConfig, bytes.NewReader(enc), encDesc, false)
		if err != nil {
			return nil, err
		}
		return io.ReadAll(r)
	}
	got, err := decrypt("tok-bound")
	if err != nil {
		t.Fatalf("bound instance: %v", err)
	}
	if !bytes.Equal(got, layer) {
		t.Fatal("decrypted layer differs")
	}
	// The broker's reason reaches ocicrypt's error through stderr.
	if _, err := decrypt("tok-stranger"); err == nil || !strings.Contains(err.Error(), "instance is not bound to this image") {
		t.Fatalf("unbound instance: err = %v, want the broker's denial", err)
	}
	if n := fake.Releases(); n != 1 {
		t.Errorf("broker released %d keys, want 1", n)
	}
}
