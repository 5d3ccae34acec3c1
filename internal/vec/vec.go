// Package vec holds the small vector kernels that more than one of
// imgward's models needs.
package vec

// Dot returns the inner product of w and x, len(w) >= len(x), in four
// sums, so that the additions do not wait on each other. Each product is
// rounded before it is added (the conversions), so that a build that may
// fuse a multiply and an add (GOAMD64=v3) gives the same bits.
func Dot(w, x []float64) float64 {
	w = w[:len(x)]
	var z0, z1, z2, z3 float64
	j := 0
	for ; j+4 <= len(x); j += 4 {
		z0 += float64(w[j] * x[j])
		z1 += float64(w[j+1] * x[j+1])
		z2 += float64(w[j+2] * x[j+2])
		z3 += float64(w[j+3] * x[j+3])
	}
	for ; j < len(x); j++ {
		z0 += float64(w[j] * x[j])
	}
	return z0 + z1 + z2 + z3
}
