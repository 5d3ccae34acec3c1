// Package vec holds the small vector kernels that more than one of
// imgward's models needs.
package vec

// Dot returns the inner product of w and x, len(w) >= len(x), in four
// sums, so that the additions do not wait on each other.
func Dot(w, x []float64) float64 {
	w = w[:len(x)]
	var z0, z1, z2, z3 float64
	j := 0
	for ; j+4 <= len(x); j += 4 {
		z0 += w[j] * x[j]
		z1 += w[j+1] * x[j+1]
		z2 += w[j+2] * x[j+2]
		z3 += w[j+3] * x[j+3]
	}
	for ; j < len(x); j++ {
		z0 += w[j] * x[j]
	}
	return z0 + z1 + z2 + z3
}
