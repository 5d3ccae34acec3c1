package server_test

import (
	"archive/tar"
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

type file struct {
	name string
	data []byte
}

// rootfs returns n files of log-uniform size, 32 B to 128 KiB, of random
// content: the shape of a root filesystem, as in fingerprint's tests.
func rootfs(seed uint64, n int) []file {
	rng := rand.New(rand.NewPCG(seed, 1))
	dirs := []string{"usr/bin", "usr/lib", "usr/share/doc", "etc", "var/lib/dpkg", "opt/app"}
	files := make([]file, n)
	for i := range files {
		size := int(32 << rng.IntN(12))
		size += rng.IntN(size)
		data := make([]byte, size)
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		files[i] = file{fmt.Sprintf("%s/f%04d", dirs[rng.IntN(len(dirs))], i), data}
	}
	return files
}

// tarOf packs files; mtime differs between packings, as it does when an
// image is re-bundled.
func tarOf(t testing.TB, files []file, mtime time.Time) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, f := range files {
		h := &tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: 0o644, Size: int64(len(f.data)), ModTime: mtime}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write(f.data)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// rebundle is what a thief does with a decrypted rootfs: unpack it, change
// a few files (a config edited, a binary replaced, a file added) and pack
// it anew.
func rebundle(t testing.TB, files []file) []byte {
	out := append([]file(nil), files...)
	for _, i := range []int{3, 50, 120} {
		d := append([]byte(nil), out[i].data...)
		d[len(d)/2] ^= 0xff
		out[i] = file{out[i].name, append(d, "# edited\n"...)}
	}
	out = append(out, file{"etc/motd", []byte("welcome to my very own image\n")})
	return tarOf(t, out, time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC))
}
