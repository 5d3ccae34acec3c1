package fingerprint

import (
	"slices"
	"testing"
)

func TestIntersectUnion(t *testing.T) {
	a, b, c := random("a", 1<<20), random("b", 1<<20), random("c", 1<<20)
	fa, fb, fc := fromBytes(t, a), fromBytes(t, b), fromBytes(t, c)
	ab := fromBytes(t, append(slices.Clone(a), b...))
	for _, tc := range []struct {
		name     string
		got      *Fingerprint
		of       *Fingerprint // Similarity(of, got) must be in [min, max]
		min, max float64
	}{
		{"a∩ab holds a", Intersect(fa, ab), fa, 0.95, 1},
		{"a∩ab holds none of b", Intersect(fa, ab), fb, 0, 0},
		{"a∩c is empty", Intersect(fa, fc), fa, 0, 0},
		{"a∪b holds ab", Union(fa, nil, fb), ab, 0.95, 1},
		{"a∪b holds none of c", Union(fa, fb), fc, 0, 0},
	} {
		if s := Similarity(tc.of, tc.got); s < tc.min || s > tc.max {
			t.Errorf("%s: similarity %.4f, want in [%.2f, %.2f]", tc.name, s, tc.min, tc.max)
		}
	}
	if u := Union(fa, fa); u.Len() != fa.Len() || u.Bytes() != fa.Bytes() {
		t.Errorf("a∪a has %d chunks, %d bytes; a has %d, %d", u.Len(), u.Bytes(), fa.Len(), fa.Bytes())
	}
	if i := Intersect(fa, fa); i.Bytes() != fa.Bytes() {
		t.Errorf("a∩a has %d bytes, a %d", i.Bytes(), fa.Bytes())
	}
}

func TestRuleIsPart(t *testing.T) {
	p := random("p", 4<<20)
	q := random("q", 16<<20)
	fp := fromBytes(t, p)
	for _, tc := range []struct {
		name string
		u    []byte
		want bool
	}{
		{"a fifth of p", p[:len(p)/5], true},
		{"a twentieth of p alone", p[:len(p)/20], true},                                     // Own
		{"a twentieth of p in much else", append(slices.Clone(q), p[:len(p)/20]...), false}, // below Part, little Own
		{"a fifth of p in much else", append(slices.Clone(q), p[:len(p)/5]...), true},
		{"a two-hundredth of p alone", p[:len(p)/200], false}, // below Floor
		{"nothing of p", q, false},
	} {
		if got := DefaultRule.IsPart(fp, fromBytes(t, tc.u)); got != tc.want {
			t.Errorf("%s: IsPart %v, want %v", tc.name, got, tc.want)
		}
	}
}
