package detect

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestLog1p8 checks hbos8's vector log1p against math.Log1p, bit for bit,
// at the bounds of its paths (2**-54, 2**-29, Sqrt(2)-1, 2**53, the
// mantissa of Sqrt(2), powers of two, where its correction term and its
// iu == 0 case come in), their neighbours, subnormals, the largest
// values and +Inf, and at random values of every exponent.
func TestLog1p8(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512: hbos8 is not used")
	}
	xs := []float64{0, math.SmallestNonzeroFloat64, 0x1p-1022, 0x1p-54, 0x1p-29, math.Sqrt2 - 1,
		1, 2, 0x1p53, math.MaxFloat64, math.Inf(1), math.Sqrt2, math.Sqrt2 / 2, 1e300, 3, 7, 0.5}
	for e := -60; e <= 60; e++ {
		p := math.Ldexp(1, e)
		xs = append(xs, p, p-1, p+1, math.Float64frombits(0x0006a09e667f3bcd|uint64(e+1023)<<52))
	}
	for _, x := range xs[:len(xs):len(xs)] {
		xs = append(xs, math.Nextafter(x, 0), math.Nextafter(x, math.Inf(1)))
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for range 200000 {
		xs = append(xs, math.Ldexp(rng.Float64(), rng.IntN(2100)-1074))
	}
	xs = slices.DeleteFunc(xs, func(x float64) bool { return x < 0 }) // hbos8's distances are not
	for len(xs)%8 != 0 {
		xs = append(xs, 1)
	}
	var in, out [8]float64
	for i := 0; i < len(xs); i += 8 {
		copy(in[:], xs[i:i+8])
		log1p8(&in, &out)
		for l, x := range in {
			if want := math.Log1p(x); math.Float64bits(out[l]) != math.Float64bits(want) {
				t.Fatalf("log1p8(%v) = %v (%#x), math.Log1p %v (%#x)", x, out[l], math.Float64bits(out[l]), want, math.Float64bits(want))
			}
		}
	}
}

// TestVectorsMatchScore checks that the robust z, HBOS and ECOD give
// Score's bits through ScoreBatch, with the vector kernels and without,
// for rows wider than the kernels' space on the stack (64 features) and a
// batch that leaves rows over after the groups of eight.
func TestVectorsMatchScore(t *testing.T) {
	defer func() { vectors = hasAVX512 }()
	X := awkward(12, 300, 70)
	Q := queries(13, X) // 358 rows: six left over after the groups of eight
	for _, name := range []string{"zscore", "hbos", "ecod"} {
		d := fitted(t, name, Config{}, X)
		for _, vector := range []bool{hasAVX512, false} {
			vectors = vector
			out := make([]float64, len(Q))
			ScoreBatch(d, Q, out)
			for i, x := range Q {
				if s := d.Score(x); math.Float64bits(s) != math.Float64bits(out[i]) {
					t.Fatalf("%s (vectors %v): row %d: ScoreBatch %v, Score %v", name, vector, i, out[i], s)
				}
			}
		}
	}
}
