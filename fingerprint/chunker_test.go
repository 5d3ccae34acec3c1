package fingerprint

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"slices"
	"testing"
	"testing/iotest"

	"imgward/errors"
)

// random returns n pseudo-random bytes, the same for the same seed.
func random(seed string, n int) []byte {
	var s [32]byte
	copy(s[:], seed)
	p := make([]byte, n)
	rand.NewChaCha8(s).Read(p)
	return p
}

// cuts returns the chunk lengths of r.
func cuts(t testing.TB, r io.Reader, p Params) []int {
	t.Helper()
	c, err := NewChunker(r, p)
	if err != nil {
		t.Fatal(err)
	}
	var ls []int
	for {
		chunk, err := c.Next()
		if err == io.EOF {
			return ls
		}
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, len(chunk))
	}
}

func TestParams(t *testing.T) {
	for _, p := range []Params{
		{}, {Min: 32, Avg: 128, Max: 1024}, {Min: 2048, Avg: 2048, Max: 65536},
		{Min: 2048, Avg: 8000, Max: 65536}, {Min: 2048, Avg: 8192, Max: 8192},
		{Min: 2048, Avg: 8192, Max: 2 << 20},
	} {
		if _, err := NewChunker(bytes.NewReader(nil), p); !errors.Is(errors.Invalid, err) {
			t.Errorf("NewChunker(%+v): %v, want kind Invalid", p, err)
		}
	}
}

// TestGearKnownAnswer pins the gear table, which docs/FORMATS.md specifies.
func TestGearKnownAnswer(t *testing.T) {
	for i, want := range map[int]uint64{0: 0xaddd1949ed8c959b, 1: 0x64058c7c942b39bf, 255: 0x9b9a52f1412e7b18} {
		if gear[i] != want {
			t.Errorf("gear[%d] = %#016x, want %#016x", i, gear[i], want)
		}
	}
}

// katInput is the input of the known-answer test, easy to make in any
// language: SHA-256("imgward-fingerprint-kat" || uint32 big-endian i) for
// i = 0, 1, 2..., concatenated.
func katInput(n int) []byte {
	var b []byte
	for i := uint32(0); len(b) < n; i++ {
		s := sha256.Sum256(binary.BigEndian.AppendUint32([]byte("imgward-fingerprint-kat"), i))
		b = append(b, s[:]...)
	}
	return b[:n]
}

// TestCutPointsKnownAnswer pins the cut points of a fixed input: changing
// them changes every stored fingerprint.
func TestCutPointsKnownAnswer(t *testing.T) {
	got := cuts(t, bytes.NewReader(katInput(1<<20)), Default)
	wantFirst := []int{8541, 10472, 10239, 4822, 3682, 14226, 10449, 12567, 11807, 13536, 10275, 8426}
	if len(got) != 114 || !slices.Equal(got[:len(wantFirst)], wantFirst) || got[len(got)-1] != 1281 {
		t.Fatalf("cut points changed: %d chunks, first %v, last %d", len(got), got[:min(len(got), 12)], got[len(got)-1])
	}
}

// TestChunker checks the chunk sizes, that the chunks make up the input,
// and that the cut points do not depend on how the input is read.
func TestChunker(t *testing.T) {
	in := random("chunker", 3<<20+123)
	p := Default
	want := cuts(t, bytes.NewReader(in), p)
	total := 0
	for i, n := range want {
		if n > p.Max || n < p.Min && i < len(want)-1 {
			t.Fatalf("chunk %d has %d bytes, outside [%d, %d]", i, n, p.Min, p.Max)
		}
		total += n
	}
	if total != len(in) {
		t.Fatalf("chunks hold %d bytes, input %d", total, len(in))
	}
	t.Logf("%d chunks, average %d bytes", len(want), total/len(want))
	if avg := total / len(want); avg < p.Avg*3/4 || avg > p.Avg*3/2 {
		t.Errorf("average chunk size %d, far from %d", avg, p.Avg)
	}
	for name, r := range map[string]io.Reader{
		"one byte": iotest.OneByteReader(bytes.NewReader(in)),
		"half":     iotest.HalfReader(bytes.NewReader(in)),
		"data+EOF": iotest.DataErrReader(bytes.NewReader(in)),
	} {
		if got := cuts(t, r, p); !slices.Equal(got, want) {
			t.Errorf("%s: cut points differ", name)
		}
	}
	if got := cuts(t, bytes.NewReader(nil), p); len(got) != 0 {
		t.Errorf("empty input has %d chunks", len(got))
	}
}

func TestChunkerReadError(t *testing.T) {
	boom := errors.New("boom")
	c, _ := NewChunker(io.MultiReader(bytes.NewReader(random("x", 1000)), iotest.ErrReader(boom)), Default)
	if _, err := c.Next(); !errors.IsErr(err, boom) {
		t.Fatalf("Next: %v, want boom", err)
	}
}
