package fingerprint

// Derived content per owner. One upload that holds a protected image is
// found by Similarity alone; an owner who splits the image into parts
// (halves, interleaved files, each lightly edited) and uploads each part as
// an image of its own is found only by weighing the parts together. Rule
// says which uploads count as parts and docs/FORMATS.md gives the rule and
// its false-positive rate.

// Rule decides which of an owner's uploads are parts of a protected image
// p. An upload u is a part when it holds at least Part of p's bytes, or at
// least Floor of them while Own of u's own bytes come from p (a small
// slice of p with little else in it). The parts of one owner are then
// weighed together: their union's share of p is compared with the same
// threshold as a single upload's.
type Rule struct {
	Part  float64 // share of p that makes an upload a part by itself
	Own   float64 // share of the upload's own bytes from p ...
	Floor float64 // ... when it holds at least this share of p
}

// DefaultRule is the rule the catalog applies; docs/FORMATS.md measures it.
var DefaultRule = Rule{Part: 0.10, Own: 0.5, Floor: 0.01}

// IsPart reports whether an upload u is a part of the protected image p.
func (r Rule) IsPart(p, u *Fingerprint) bool {
	cover := Similarity(p, u)
	if cover >= r.Part {
		return true
	}
	return cover >= r.Floor && Similarity(u, p) >= r.Own
}

// Intersect returns the chunks of a that are also in b. An owner's part of
// a protected image is kept as this intersection, not as the whole upload,
// so that what is stored per part is bounded by the protected image.
func Intersect(a, b *Fingerprint) *Fingerprint {
	out := &Fingerprint{}
	both(a, b, func(s Sum) {
		out.sums = append(out.sums, s)
		out.bytes += int64(s.Size)
	})
	return out
}

// Union returns the chunks found in any of fs (nil ones are skipped).
func Union(fs ...*Fingerprint) *Fingerprint {
	var n int
	for _, f := range fs {
		if f != nil {
			n += len(f.sums)
		}
	}
	all := make([]Sum, 0, n)
	for _, f := range fs {
		if f != nil {
			all = append(all, f.sums...)
		}
	}
	return fromSums(all)
}
