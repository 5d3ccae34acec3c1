package fingerprint

import (
	"bytes"
	"context"
	"slices"
	"testing"
)

func fromBytes(t testing.TB, b []byte) *Fingerprint {
	t.Helper()
	f, err := FromReader(context.Background(), bytes.NewReader(b), Default)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestSimilarity(t *testing.T) {
	a := random("a", 1<<20)
	b := random("b", 1<<20)
	fa, fb := fromBytes(t, a), fromBytes(t, b)
	both := fromBytes(t, append(slices.Clone(a), b...))
	empty := fromBytes(t, nil)
	for _, tc := range []struct {
		name     string
		x, y     *Fingerprint
		min, max float64
	}{
		{"same", fa, fa, 1, 1},
		{"disjoint", fa, fb, 0, 0},
		{"empty", empty, fa, 0, 0},
		{"in empty", fa, empty, 0, 0},
		{"part of a larger one", fa, both, 0.95, 1}, // but the chunk across the junction
		{"larger one in a part", both, fa, 0.49, 0.51},
	} {
		if s := Similarity(tc.x, tc.y); s < tc.min || s > tc.max {
			t.Errorf("%s: similarity %.4f, want in [%.2f, %.2f]", tc.name, s, tc.min, tc.max)
		}
	}
	if fa.Bytes() != int64(len(a)) {
		t.Errorf("Bytes %d, want %d", fa.Bytes(), len(a))
	}
	if s := Similarity(both.Without(fb), fa); s < 0.95 {
		t.Errorf("Without: similarity %.4f, want about 1", s)
	}
	if n := New(append(slices.Clone(fa.Sums()), fa.Sums()...)); n.Len() != fa.Len() || n.Bytes() != fa.Bytes() {
		t.Errorf("New keeps duplicates: %d chunks, want %d", n.Len(), fa.Len())
	}
}

// TestRepeatsCountOnce checks that a repeated block is one chunk however
// often it repeats, and that zeros, the bulk of many disk images, are no
// chunk at all.
func TestRepeatsCountOnce(t *testing.T) {
	if f := fromBytes(t, make([]byte, 10<<20)); f.Len() != 0 {
		t.Fatalf("10 MiB of zeros: %d distinct chunks, %d bytes", f.Len(), f.Bytes())
	}
	f := fromBytes(t, bytes.Repeat([]byte{0xa5}, 10<<20))
	if f.Len() != 1 || f.Bytes() != int64(Default.Max) {
		t.Fatalf("10 MiB of one byte: %d distinct chunks, %d bytes", f.Len(), f.Bytes())
	}
}

// TestShiftResistance checks that inserting or deleting bytes changes only
// the chunks around the edit.
func TestShiftResistance(t *testing.T) {
	orig := random("shift", 4<<20)
	fo := fromBytes(t, orig)
	mid := len(orig) / 2
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"insert 1 byte at start", append([]byte{0}, orig...)},
		{"insert 100 bytes at start", append(random("ins", 100), orig...)},
		{"insert 5000 bytes in the middle", slices.Concat(orig[:mid], random("mid", 5000), orig[mid:])},
		{"delete 3 bytes at start", orig[3:]},
		{"delete 10000 bytes in the middle", slices.Concat(orig[:mid], orig[mid+10000:])},
	} {
		s := Similarity(fromBytes(t, tc.data), fo)
		t.Logf("%s: %.4f of the bytes found", tc.name, s)
		if s < 0.95 {
			t.Errorf("%s: similarity %.4f, want > 0.95", tc.name, s)
		}
	}
}
