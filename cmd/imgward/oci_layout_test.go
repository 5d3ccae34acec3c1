package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containers/ocicrypt/spec"

	"imgward/seal/ocikey"
)

// blob stores data in an OCI layout's blob directory and returns its
// descriptor.
func blob(t *testing.T, dir, mediaType string, data []byte) map[string]any {
	t.Helper()
	sum := sha256.Sum256(data)
	h := hex.EncodeToString(sum[:])
	if err := os.WriteFile(filepath.Join(dir, "blobs", "sha256", h), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return map[string]any{"mediaType": mediaType, "digest": "sha256:" + h, "size": len(data)}
}

// makeOCILayout writes a one-layer OCI image tagged v1 in dir, and returns
// the hex digest of its layer. The layer is gzipped, since skopeo gzips an
// uncompressed layer before it encrypts it: given gzipped, it comes back
// from an encrypt and decrypt byte for byte.
func makeOCILayout(t *testing.T, dir string) string {
	t.Helper()
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	content := []byte("hello from a protected image\n")
	tw.WriteHeader(&tar.Header{Name: "etc/motd", Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg})
	tw.Write(content)
	tw.Close()
	sum := sha256.Sum256(layer.Bytes())
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(layer.Bytes())
	zw.Close()
	return writeOCILayout(t, dir, gz.Bytes(), "application/vnd.oci.image.layer.v1.tar+gzip", nil, "sha256:"+hex.EncodeToString(sum[:]))
}

// writeOCILayout writes a one-layer OCI image tagged v1 in dir: the layer
// with its media type and annotations, and diffID, the digest of its
// plaintext, in the config. It returns the hex digest of the layer blob.
func writeOCILayout(t *testing.T, dir string, layer []byte, mediaType string, annotations map[string]string, diffID string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		t.Fatal(err)
	}
	layerDesc := blob(t, dir, mediaType, layer)
	if annotations != nil {
		layerDesc["annotations"] = annotations
	}
	cfg, _ := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux",
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{diffID}},
	})
	cfgDesc := blob(t, dir, "application/vnd.oci.image.config.v1+json", cfg)
	man, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": cfgDesc, "layers": []any{layerDesc},
	})
	manDesc := blob(t, dir, "application/vnd.oci.image.manifest.v1+json", man)
	manDesc["annotations"] = map[string]string{"org.opencontainers.image.ref.name": "v1"}
	index, _ := json.Marshal(map[string]any{"schemaVersion": 2, "manifests": []any{manDesc}})
	for name, data := range map[string][]byte{
		"index.json": index, "oci-layout": []byte(`{"imageLayoutVersion":"1.0.0"}`),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return strings.TrimPrefix(layerDesc["digest"].(string), "sha256:")
}

// checkEncrypted checks the image in an OCI layout: every layer is of an
// encrypted media type and carries an imgward annotation naming image.
func checkEncrypted(t *testing.T, dir, image string) {
	t.Helper()
	var index struct {
		Manifests []struct{ Digest string }
	}
	readJSON(t, filepath.Join(dir, "index.json"), &index)
	if len(index.Manifests) != 1 {
		t.Fatalf("index has %d manifests", len(index.Manifests))
	}
	var man struct {
		Layers []struct {
			MediaType   string
			Annotations map[string]string
		}
	}
	readJSON(t, filepath.Join(dir, "blobs", "sha256", strings.TrimPrefix(index.Manifests[0].Digest, "sha256:")), &man)
	if len(man.Layers) == 0 {
		t.Fatal("manifest has no layers")
	}
	for _, l := range man.Layers {
		if !strings.HasSuffix(l.MediaType, "+encrypted") || (l.MediaType != spec.MediaTypeLayerEnc && l.MediaType != spec.MediaTypeLayerGzipEnc) {
			t.Errorf("layer media type %q is not an encrypted layer type", l.MediaType)
		}
		a, ok := l.Annotations[ocikey.AnnotationID]
		if !ok {
			t.Fatalf("layer lacks %s: %v", ocikey.AnnotationID, l.Annotations)
		}
		// ocicrypt joins one base64 annotation per key wrapper with commas.
		raw, err := base64.StdEncoding.DecodeString(strings.Split(a, ",")[0])
		if err != nil {
			t.Fatal(err)
		}
		if id, err := ocikey.ImageID(raw); err != nil || id != image {
			t.Errorf("annotation names %q, %v; want %s", id, err, image)
		}
	}
}

func readJSON(t *testing.T, name string, v any) {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}
