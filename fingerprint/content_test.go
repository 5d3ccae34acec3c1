package fingerprint

import (
	"bytes"
	"compress/gzip"
	"context"
	stderrors "errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"testing/iotest"

	"imgward/errors"
)

func contentFingerprint(t testing.TB, b []byte) *Fingerprint {
	t.Helper()
	f, err := FromContent(context.Background(), bytes.NewReader(b), Default)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestFromContentWellFormed: a well-formed archive, plain or gzipped, in
// each tar format, fingerprints as FromTar fingerprints it, so that
// protected images stored before FromContent compare the same.
func TestFromContentWellFormed(t *testing.T) {
	files := rootfs("wellformed", 120)
	for how := range 3 {
		a := tarOf(t, files, how)
		want := tarFingerprint(t, a)
		for name, in := range map[string][]byte{"plain": a, "gzip": gzipOf(t, a), "trailing zeros": append(bytes.Clone(a), make([]byte, 20<<10)...)} {
			got := contentFingerprint(t, in)
			if Similarity(got, want) != 1 || Similarity(want, got) != 1 || got.Len() != want.Len() {
				t.Errorf("format %d, %s: FromContent differs from FromTar: %d chunks, want %d", how, name, got.Len(), want.Len())
			}
		}
	}
}

// TestByteSplit is issue 11 §3's attack at the fingerprint level: a
// protected image cut into byte ranges (through file headers and file
// contents, at any offset), each piece uploaded on its own. Each piece is a
// part of the original by DefaultRule, and the pieces together hold nearly
// all of it, while the pieces of an unrelated image of the same shape are
// parts of nothing.
func TestByteSplit(t *testing.T) {
	archive := tarOf(t, rootfs("split", 200), 0)
	other := tarOf(t, rootfs("unrelated", 200), 0)
	disk := rawDisk("disk", 8<<20)
	hdr := headerOffset(t, archive, len(archive)/2) // a header near the middle

	type tc struct {
		name     string
		orig     []byte
		cuts     []int // offsets of the cuts, in orig
		gz       bool  // each piece gzip-compressed
		min      float64
		unrel    []byte  // an unrelated image of the same shape, cut the same way
		useTar   bool    // FromTar refused the pieces before FromContent
		unrelMax float64 // of the original an unrelated piece may hold
	}
	cases := []tc{
		{name: "halves through a file", orig: archive, cuts: []int{len(archive)/2 + 777}, min: 0.95, unrel: other, useTar: true},
		{name: "halves through a header", orig: archive, cuts: []int{hdr + 100}, min: 0.95, unrel: other, useTar: true},
		{name: "three at odd offsets", orig: archive, cuts: []int{len(archive)/3 + 1, 2*len(archive)/3 + 333}, min: 0.95, unrel: other, useTar: true},
		{name: "gzipped halves", orig: archive, cuts: []int{len(archive)/2 + 4099}, gz: true, min: 0.95, unrel: other},
		{name: "raw disk, three", orig: disk, cuts: []int{len(disk)/3 + 17, 2*len(disk)/3 + 5}, min: 0.95, unrel: rawDisk("other disk", 8<<20)},
		{name: "raw disk, gzipped halves", orig: disk, cuts: []int{len(disk)/2 + 1}, gz: true, min: 0.95, unrel: rawDisk("other disk", 8<<20)},
	}
	if q := qcow2Of(t, disk); q != nil {
		cases = append(cases, tc{name: "qcow2 halves", orig: q, cuts: []int{len(q)/2 + 12345}, min: 0.95, unrel: qcow2Of(t, rawDisk("other disk", 8<<20)), unrelMax: 0.05})
	}
	pieces := func(b []byte, cuts []int, gz bool) [][]byte {
		var out [][]byte
		from := 0
		for _, c := range append(cuts, len(b)) {
			p := b[from:c]
			if gz {
				p = gzipOf(t, p)
			}
			out = append(out, p)
			from = c
		}
		return out
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := contentFingerprint(t, c.orig)
			var parts []*Fingerprint
			for i, piece := range pieces(c.orig, c.cuts, c.gz) {
				if c.useTar && i == len(c.cuts) {
					if _, err := FromTar(context.Background(), bytes.NewReader(piece), Default); !errors.Is(errors.Invalid, err) {
						t.Errorf("FromTar of the last piece: %v, want Invalid (the gap FromContent closes)", err)
					}
				}
				u := contentFingerprint(t, piece)
				t.Logf("piece %d: %d bytes, holds %.1f%% of the original, %.1f%% of it from there",
					i, len(piece), 100*Similarity(p, u), 100*Similarity(u, p))
				if !DefaultRule.IsPart(p, u) {
					t.Errorf("piece %d is not a part of the original", i)
				}
				parts = append(parts, Intersect(u, p))
			}
			got := Similarity(p, Union(parts...))
			t.Logf("together: %.1f%%", 100*got)
			if got < c.min {
				t.Errorf("the pieces hold %.3f of the original together, want >= %.2f", got, c.min)
			}
			for i, piece := range pieces(c.unrel, c.cuts, c.gz) {
				// Only a qcow2's metadata (header, refcounts) is common
				// to two unrelated images of one virtual size.
				u := contentFingerprint(t, piece)
				if f := Similarity(p, u); f > 0 {
					t.Logf("unrelated piece %d holds %.1f%% of the original", i, 100*f)
				}
				if DefaultRule.IsPart(p, u) || Similarity(p, u) > c.unrelMax {
					t.Errorf("unrelated piece %d holds %.3f of the original", i, Similarity(p, u))
				}
			}
		})
	}
}

// headerOffset returns the offset of the first tar header at or after
// from in a well-formed archive.
func headerOffset(t *testing.T, archive []byte, from int) int {
	i := headerIndex(archive[from:], 0, new([]uint32))
	if i < 0 {
		t.Fatal("no header after the middle")
	}
	return from + i
}

// rawDisk returns a raw disk image of size bytes: 4 KiB blocks of data
// (files) between runs of unallocated zeros, as a filesystem leaves them.
func rawDisk(seed string, size int) []byte {
	rng := rand.New(rand.NewPCG(uint64(len(seed)), uint64(seed[0])))
	d := make([]byte, size)
	for off := 0; off < size; {
		n := (1 + rng.IntN(64)) << 12
		if rng.IntN(4) > 0 {
			copy(d[off:], random(fmt.Sprint(seed, off), n))
		}
		off += n + rng.IntN(16)<<12
	}
	return d
}

// qcow2Of converts a raw disk image to qcow2 with qemu-img, or returns nil
// where there is none (never under CI).
func qcow2Of(t *testing.T, raw []byte) []byte {
	if _, err := exec.LookPath("qemu-img"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("qemu-img is needed under CI")
		}
		t.Log("no qemu-img: qcow2 case left out")
		return nil
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "disk.raw"), filepath.Join(dir, "disk.qcow2")
	if err := os.WriteFile(in, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command("qemu-img", "convert", "-f", "raw", "-O", "qcow2", in, out).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img: %v: %s", err, b)
	}
	q, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func gzipOf(t testing.TB, b []byte) []byte {
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestFromContentBounds: a gzip bomb is refused as FromTar refuses it, and
// an error of the reader is the caller's error, not an empty fingerprint.
func TestFromContentBounds(t *testing.T) {
	// A gzip of a file of zeros expands about 1000 times, under
	// MaxExpansion; a ratio of 100 refuses it.
	bomb := gzipOf(t, tarOf(t, []file{{"zeros", make([]byte, 16<<20)}}, 0))
	if _, err := FromContent(context.Background(), bytes.NewReader(bomb), Default); err != nil {
		t.Errorf("gzip of zeros: %v", err)
	}
	if _, err := fromContent(context.Background(), bytes.NewReader(bomb), Default, 100); !errors.Is(errors.TooLarge, err) {
		t.Errorf("gzip of zeros, ratio 100: %v, want TooLarge", err)
	}
	a := tarOf(t, rootfs("bounds", 20), 0)
	_, err := FromContent(context.Background(), iotest.TimeoutReader(bytes.NewReader(a)), Default)
	if err == nil || !stderrors.Is(err, iotest.ErrTimeout) {
		t.Errorf("reader error: %v, want the reader's", err)
	}
	// Magic after magic, none a header: chunked as the raw stream it is,
	// at a few operations a byte (prefix sums, not a block's sum for
	// every candidate).
	magic := bytes.Repeat([]byte("ustar"), 4<<20/5)
	if got, want := contentFingerprint(t, magic), fromBytes(t, magic); got.Len() != want.Len() || Similarity(got, want) != 1 {
		t.Errorf("ustar repeated: %d chunks, want %d", got.Len(), want.Len())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := FromContent(ctx, bytes.NewReader(a), Default); !stderrors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// FuzzFromContent: no input panics or is refused as malformed, and the
// fingerprint of a piece is that of the same bytes read in small reads.
// Run it with -fuzzminimizetime 2s: minimizing each new input for the
// default minute hides the progress (22,000 execs in 40 s on this machine).
func FuzzFromContent(f *testing.F) {
	small := Params{Min: 64, Avg: 256, Max: 1024}
	a := tarOf(f, []file{{"a", random("a", 3000)}, {"b", []byte("hi")}, {"c", random("c", 1500)}}, 1)
	f.Add(a)
	f.Add(a[700:])
	f.Add(a[:len(a)/2])
	f.Add(gzipOf(f, a[333:]))
	f.Add([]byte("\x1f\x8b\x08\x00garbage"))
	f.Add(bytes.Repeat([]byte("ustar"), 300))
	f.Fuzz(func(t *testing.T, b []byte) {
		x, err := FromContent(context.Background(), bytes.NewReader(b), small)
		if errors.Is(errors.TooLarge, err) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		y, err := FromContent(context.Background(), iotest.OneByteReader(bytes.NewReader(b)), small)
		if err != nil || x.Len() != y.Len() || (x.Len() > 0 && Similarity(x, y) != 1) {
			t.Fatalf("one-byte reads differ: %v", err)
		}
	})
}
