package fingerprint

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"testing"
	"testing/iotest"
	"time"

	"imgward/errors"
)

type file struct {
	name string
	data []byte
}

// rootfs returns n files that look like a root filesystem: a few text files
// under etc/, and binaries and libraries of log-uniform size, 32 B to 128 KiB.
func rootfs(seed string, n int) []file {
	rng := rand.New(rand.NewPCG(uint64(len(seed)), uint64(seed[0])))
	dirs := []string{"usr/bin", "usr/lib/x86_64-linux-gnu", "usr/share/doc", "etc", "var/lib/dpkg", "opt/app"}
	files := make([]file, n)
	for i := range files {
		size := int(32 << rng.IntN(12))
		size += rng.IntN(size)
		name := fmt.Sprintf("%s/f%04d", dirs[rng.IntN(len(dirs))], i)
		files[i] = file{name, random(fmt.Sprint(seed, i), size)}
	}
	return files
}

// tarOf packs files, with times, owners and format set by how, so that two
// packings of the same files differ in every header.
func tarOf(t testing.TB, files []file, how int) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	format := []tar.Format{tar.FormatUSTAR, tar.FormatPAX, tar.FormatGNU}[how%3]
	mtime := time.Date(2024+how, 1, 2, 3, 4, 5, 0, time.UTC)
	for i, f := range files {
		if i%50 == 0 {
			tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: fmt.Sprintf("d%d/", i), Mode: 0o755, ModTime: mtime, Format: format})
		}
		h := &tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: 0o644, Size: int64(len(f.data)),
			ModTime: mtime.Add(time.Duration(i) * time.Second), Uid: how * 1000, Gid: how * 1000, Format: format}
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

func tarFingerprint(t testing.TB, archive []byte) *Fingerprint {
	t.Helper()
	f, err := FromTar(context.Background(), bytes.NewReader(archive), Default)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestRebundledRootfs measures what the issue asks for: a rootfs re-packed
// with a few files changed, some added and removed, in another order and
// with new headers, is still found to be mostly the original.
func TestRebundledRootfs(t *testing.T) {
	orig := rootfs("rootfs", 400)
	edited := slices.Clone(orig)
	rng := rand.New(rand.NewPCG(7, 7))
	for _, i := range []int{3, 77, 150, 222, 301} { // edit five files in place
		d := slices.Clone(edited[i].data)
		mid := len(d) / 2
		d = slices.Concat(d[:mid], []byte("# patched by the re-bundler\n"), d[mid:])
		copy(d[len(d)/4:], "0000")
		edited[i].data = d
	}
	edited = slices.Delete(edited, 10, 12) // remove two files
	edited = append(edited, file{"etc/rebundled", []byte("owner=bob\n")},
		file{"opt/app/extra.bin", random("extra", 100<<10)})
	rng.Shuffle(len(edited), func(i, j int) { edited[i], edited[j] = edited[j], edited[i] })

	a, b := tarOf(t, orig, 0), tarOf(t, edited, 1)
	fo, fe := tarFingerprint(t, a), tarFingerprint(t, b)
	byFile := Similarity(fe, fo)
	so, _ := FromReader(context.Background(), bytes.NewReader(a), Default)
	se, _ := FromReader(context.Background(), bytes.NewReader(b), Default)
	whole := Similarity(se, so)
	other := Similarity(tarFingerprint(t, tarOf(t, rootfs("unrelated", 400), 2)), fo)
	t.Logf("rootfs of %d files, %d KiB: re-bundled with 5 edited, 2 removed, 2 added, shuffled, re-packed", len(orig), len(a)>>10)
	t.Logf("fraction of the re-bundled bytes found in the original: %.4f file by file (FromTar), %.4f as one stream (FromReader); unrelated rootfs: %.4f", byFile, whole, other)
	if byFile < 0.9 {
		t.Errorf("re-bundled rootfs: similarity %.4f, want > 0.9", byFile)
	}
	if other > 0.01 {
		t.Errorf("unrelated rootfs: similarity %.4f, want about 0", other)
	}
}

func TestFromTarGzip(t *testing.T) {
	archive := tarOf(t, rootfs("gz", 50), 0)
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(archive)
	zw.Close()
	fz := tarFingerprint(t, z.Bytes())
	if s := Similarity(fz, tarFingerprint(t, archive)); s != 1 {
		t.Fatalf("gzip-compressed archive: similarity %.4f, want 1", s)
	}
}

func TestFromTarErrors(t *testing.T) {
	archive := tarOf(t, rootfs("err", 20), 0)
	for name, data := range map[string][]byte{
		"truncated in a file":   archive[:len(archive)/2],
		"truncated in a header": archive[:700],
		"not a tar":             random("garbage", 5000),
		"bad gzip":              {0x1f, 0x8b, 0, 0},
	} {
		if _, err := FromTar(context.Background(), bytes.NewReader(data), Default); !errors.Is(errors.Invalid, err) {
			t.Errorf("%s: %v, want kind Invalid", name, err)
		}
	}
	boom := errors.New("boom")
	r := io.MultiReader(bytes.NewReader(archive[:len(archive)/2]), iotest.ErrReader(boom))
	if _, err := FromTar(context.Background(), r, Default); !errors.IsErr(err, boom) || errors.Is(errors.Invalid, err) {
		t.Errorf("failing reader: %v, want boom, not Invalid", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := FromTar(ctx, bytes.NewReader(archive), Default); !errors.IsErr(err, context.Canceled) {
		t.Errorf("canceled: %v, want context.Canceled", err)
	}
}

// TestFromTarExpansion checks the bound on work: an archive that expands
// more than allowed is refused. A gzip of zeros expands about 1000 times,
// just under MaxExpansion; a ratio of 100 refuses it.
func TestFromTarExpansion(t *testing.T) {
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(tarOf(t, []file{{"zeros", make([]byte, 16<<20)}}, 0))
	zw.Close()
	if _, err := FromTar(context.Background(), bytes.NewReader(z.Bytes()), Default); err != nil {
		t.Fatalf("FromTar: %v", err)
	}
	_, err := fromTar(context.Background(), bytes.NewReader(z.Bytes()), Default, 100)
	if !errors.Is(errors.TooLarge, err) {
		t.Fatalf("%d bytes expanding to 16 MiB, ratio 100: %v, want kind TooLarge", z.Len(), err)
	}
}

// FuzzFromTar checks that no archive makes the tar walker panic, that every
// error but the caller's is Invalid, and that chunks keep within Max.
func FuzzFromTar(f *testing.F) {
	small := Params{Min: 64, Avg: 256, Max: 1024}
	archive := tarOf(f, []file{{"a", random("a", 3000)}, {"b", []byte("hi")}}, 1)
	f.Add(archive)
	f.Add(archive[:600])
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(archive)
	zw.Close()
	f.Add(z.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		fp, err := FromTar(context.Background(), bytes.NewReader(data), small)
		if err != nil {
			if k := errors.KindOf(err); k != errors.Invalid && k != errors.TooLarge {
				t.Fatalf("error %v is not of kind Invalid or TooLarge", err)
			}
			return
		}
		for _, s := range fp.Sums() {
			if s.Size == 0 || s.Size > uint32(small.Max) {
				t.Fatalf("chunk of %d bytes", s.Size)
			}
		}
	})
}
