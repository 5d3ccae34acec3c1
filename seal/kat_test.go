package seal

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const katFile = "testdata/kat_v1.txt"

// katPlain is the plaintext of the known-answer vectors: byte i is i mod 251.
func katPlain(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i % 251)
	}
	return p
}

// katText seals the known-answer vectors and describes them in text that a
// reimplementation can check itself against, chunk tag by chunk tag.
func katText(t *testing.T) string {
	key, salt := testKey(0x00), testSalt(0x80)
	var b strings.Builder
	fmt.Fprintf(&b, "# imgward sealed format v1: known-answer vectors (docs/FORMATS.md).\n")
	fmt.Fprintf(&b, "# Regenerate with: go test ./seal -run TestKnownAnswer -update\n")
	fmt.Fprintf(&b, "# data key %x\n# salt     %x\n", key, salt)
	fmt.Fprintf(&b, "# header   image_id=%s owner=%s key_id=%s key_version=%d\n",
		testHeader.ImageID, testHeader.Owner, testHeader.KeyID, testHeader.KeyVersion)
	fmt.Fprintf(&b, "# plaintext byte i is i mod 251\n")
	for _, size := range []int{0, 13, ChunkSize, ChunkSize + 1} {
		sealed := sealBytes(t, key, testHeader, salt, katPlain(size))
		hl := headerLen(sealed)
		fmt.Fprintf(&b, "\nvector plaintext-size=%d\n", size)
		fmt.Fprintf(&b, "header %x\n", sealed[:hl])
		for i := 0; hl+i*encChunk < len(sealed); i++ {
			_, end := chunkAt(sealed, hl, i)
			fmt.Fprintf(&b, "chunk%d-tag %x\n", i, sealed[end-Overhead:end])
		}
		if len(sealed)-hl <= 64 {
			fmt.Fprintf(&b, "payload %x\n", sealed[hl:])
		}
		fmt.Fprintf(&b, "sealed-size %d\nsealed-sha256 %x\n", len(sealed), sha256.Sum256(sealed))
	}
	return b.String()
}

func TestKnownAnswer(t *testing.T) {
	got := katText(t)
	if *update {
		if err := os.WriteFile(katFile, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(katFile)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Fatalf("sealed bytes differ from %s: the format changed; if on purpose, bump the version\ngot:\n%s", katFile, got)
	}
}

// TestKnownAnswerOpens checks the golden vectors the other way: the header
// in the file parses, and the 13-byte payload opens to its plaintext.
func TestKnownAnswerOpens(t *testing.T) {
	want, err := os.ReadFile(katFile)
	if err != nil {
		t.Fatal(err)
	}
	var hdr, payload []byte
	for line := range strings.Lines(string(want)) {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "header" {
			hdr, _ = hex.DecodeString(f[1])
		}
		if len(f) == 2 && f[0] == "payload" && len(f[1]) == 2*(13+Overhead) {
			payload, _ = hex.DecodeString(f[1])
			break
		}
	}
	got, err := openAll(append(hdr, payload...), testKey(0))
	if err != nil || !bytes.Equal(got, katPlain(13)) {
		t.Fatalf("golden 13-byte vector: %q, %v", got, err)
	}
}

// TestKnownAnswerPython checks the vectors with testdata/kat_v1.py, an
// implementation of the format written from docs/FORMATS.md alone with
// Python's cryptography module: the vectors above come from this package,
// so only an independent implementation shows that they are the format's.
// Without python3 and the module the test skips, except under CI=true.
func TestKnownAnswerPython(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err == nil {
		err = exec.Command(python, "-c", "import cryptography.hazmat.primitives.ciphers.aead").Run()
	}
	if err != nil {
		msg := "python3 with the cryptography module is missing (Debian: python3-cryptography, scripts/test-deps.sh): " + err.Error()
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	out, err := exec.Command(python, "testdata/kat_v1.py", katFile).CombinedOutput()
	if err != nil {
		t.Fatalf("kat_v1.py: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "4 vectors agree") {
		t.Fatalf("kat_v1.py checked less than every vector:\n%s", out)
	}
}
