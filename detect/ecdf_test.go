package detect

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestECDFTails checks the bucketed lookup against counting every
// baseline value, on columns with ties, clusters and heavy tails, at
// baseline values, their neighbours, values between and beyond, -0 and
// the infinities.
func TestECDFTails(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cols := map[string][]float64{"one": {3}, "two": {-1, 2}}
	for _, n := range []int{5, 200, 3000} {
		var normal, ties, heavy, cluster []float64
		for range n {
			v := rng.NormFloat64()
			normal = append(normal, v)
			ties = append(ties, math.Round(v*3)+0) // +0, never -0
			heavy = append(heavy, math.Exp(8*v))
			cluster = append(cluster, 1e6+float64(rng.IntN(40))*1e-9)
		}
		cluster[0] = -1e300 // one value far off: the rest share a bucket at first
		for name, c := range map[string][]float64{"normal": normal, "ties": ties, "heavy": heavy, "cluster": cluster} {
			cols[fmt.Sprint(name, n)] = c
		}
	}
	for name, col := range cols {
		slices.Sort(col)
		e := fitECDF(col)
		n := len(col)
		tail := func(count int) float64 { return math.Log(float64(n+1)) - math.Log(float64(count+1)) }
		queries := []float64{math.Inf(-1), math.Inf(1), math.Copysign(0, -1), 0}
		for i, v := range col {
			queries = append(queries, v, math.Nextafter(v, math.Inf(1)), math.Nextafter(v, math.Inf(-1)), -v)
			if i > 0 {
				queries = append(queries, (v+col[i-1])/2)
			}
		}
		for _, v := range queries {
			// x is at most v when v-x has its sign bit clear (-0 below +0).
			var le, ge int
			for _, x := range col {
				le += int(1 - math.Float64bits(v-x)>>63)
				ge += int(1 - math.Float64bits(x-v)>>63)
			}
			if l, r := e.tails(v); l != tail(le) || r != tail(ge) {
				t.Fatalf("%s: tails(%v) = %v, %v, want %v, %v", name, v, l, r, tail(le), tail(ge))
			}
		}
		if len(e.start) > maxGrid {
			t.Errorf("%s: %d buckets", name, len(e.start))
		}
	}
}
