package trace

// HashedNgrams counts the n-grams of seq in buckets by a hash of their
// elements: the returned slice has buckets counts. A sequence shorter than
// n counts as one gram.
func HashedNgrams(seq []int32, n, buckets int) []float64 {
	out := make([]float64, buckets)
	if len(seq) == 0 {
		return out
	}
	n = min(n, len(seq))
	for i := 0; i+n <= len(seq); i++ {
		h := uint64(0x243f6a8885a308d3)
		for _, v := range seq[i : i+n] {
			h = mix(h, v)
		}
		out[h%uint64(buckets)]++
	}
	return out
}
