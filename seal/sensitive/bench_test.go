package sensitive_test

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"imgward/seal"
	"imgward/seal/sensitive"
)

// benchRootfs is a tar of n files shaped like a rootfs: half binaries of
// random bytes, half text (script and config lines), 1 KiB to 64 KiB,
// and a symbolic link for one file in twenty.
func benchRootfs(b *testing.B, n int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	line := "export PATH=/usr/local/bin:$PATH # a line of a script or config: key = value\n"
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i := range n {
		size := 1024 << rng.IntN(7)
		body := []byte(strings.Repeat(line, size/len(line)))
		if i%2 == 0 {
			for j := range body {
				body[j] = byte(rng.Uint32())
			}
		}
		name := fmt.Sprintf("usr/lib/d%d/f%d", i%50, i)
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(body))})
		tw.Write(body)
		if i%20 == 0 {
			tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: fmt.Sprintf("usr/bin/l%d", i), Linkname: "../../" + name})
		}
	}
	if err := tw.Close(); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkSealSensitive is the cost of sealing an upload with few
// secrets: the scan of every file, under every name, dominates.
func BenchmarkSealSensitive(b *testing.B) {
	src := benchRootfs(b, 1000)
	key := bytes.Repeat([]byte{8}, 32)
	h := seal.Header{ImageID: "img-1", Owner: "owner-1", KeyID: "k1", KeyVersion: 1}
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if _, err := sensitive.SealSensitive(io.Discard, bytes.NewReader(src), key, h); err != nil {
			b.Fatal(err)
		}
	}
}
