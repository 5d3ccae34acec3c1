package detect

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"testing"
)

// scoreDigest returns a digest of the exact bits of the scores d gives the
// rows of X, one by one and with ScoreBatch, so that tests can prove a
// change to the scoring code left every score bit-identical.
func scoreDigest(d Detector, X [][]float64) string {
	h := fnv.New64a()
	var b [8]byte
	for _, x := range X {
		binary.LittleEndian.PutUint64(b[:], math.Float64bits(d.Score(x)))
		h.Write(b[:])
	}
	out := make([]float64, len(X))
	ScoreBatch(d, X, out)
	for _, s := range out {
		binary.LittleEndian.PutUint64(b[:], math.Float64bits(s))
		h.Write(b[:])
	}
	return fmt.Sprintf("%016x", h.Sum64())
}

// awkward returns n rows of d features that exercise every detector's
// corners: ties, a constant column, heavy tails, clusters and -0.
func awkward(seed uint64, n, d int) [][]float64 {
	X := gaussian(seed, n, d)
	for _, x := range X {
		for j, v := range x {
			switch j % 5 {
			case 1:
				x[j] = math.Round(v * 2) // ties, and -0 from rounding
			case 2:
				x[j] = math.Exp(6 * v)
			case 3:
				x[j] = 1e6 + math.Round(v*5)*1e-9
			case 4:
				x[j] = 7
			}
		}
	}
	return X
}

// queries returns test rows: fresh ones, copies of training rows, and
// rows holding -0, NaN, the infinities and values far out.
func queries(seed uint64, train [][]float64) [][]float64 {
	d := len(train[0])
	Q := awkward(seed, 300, d)
	Q = append(Q, train[:min(50, len(train))]...)
	for k, v := range []float64{math.Copysign(0, -1), 0, math.NaN(), math.Inf(1), math.Inf(-1), 1e300, -1e300, 7} {
		x := append([]float64(nil), train[k]...)
		for j := k % 3; j < d; j += 3 {
			x[j] = v
		}
		Q = append(Q, x)
	}
	return Q
}

// coarse returns a copy of X with the 21 lowest bits of every value's
// mantissa cleared. The rows of gaussian and awkward differ in their last
// bits between a build that may fuse a multiply and an add (GOAMD64=v3)
// and one that does not (math/rand's normal variates, math.Exp), which the
// ranks of ECOD and the others do not see, but the distances that ECODX
// and the copula extrapolate beyond a feature's range do: on coarse rows
// both builds agree.
func coarse(X [][]float64) [][]float64 {
	out := make([][]float64, len(X))
	for i, x := range X {
		out[i] = make([]float64, len(x))
		for j, v := range x {
			out[i][j] = math.Float64frombits(math.Float64bits(v) &^ (1<<21 - 1))
		}
	}
	return out
}

// TestScoresUnchanged pins the bits of every detector's scores, by Score
// and by ScoreBatch, to those of the code before the scoring was made
// faster (commit 3e80635; the forests of depth 5 and 10, pinned later, to
// those of b39ca6d; ecodx and copula, on coarse rows, as they were
// added): the speed-ups must not change a single score.
func TestScoresUnchanged(t *testing.T) {
	for _, tc := range []struct {
		n, d int
		c    Config
		want map[string]string
	}{
		{2000, 54, Config{Seed: 1}, map[string]string{
			"copula":   "8e98e813e0b8668d",
			"ecod":     "85e1d2778f9cd945",
			"ecodx":    "d7235ac8f09379c5",
			"ensemble": "0f7d2248c008227a",
			"hbos":     "2579f599050a7025",
			"iforest":  "9e62e92e52ed0c8b",
			"zscore":   "18aa2e4ddeaff2ad",
		}},
		{400, 13, Config{Seed: 2, Trees: 37, SampleSize: 100, Bins: 13}, map[string]string{
			"copula":   "3bd8173c5c158ae5",
			"ecod":     "cd40a3bf4ea8fd61",
			"ecodx":    "cbe364a9972d408d",
			"ensemble": "5c1039a5a6d11eda",
			"hbos":     "2d8bcdbf97eca0cd",
			"iforest":  "f9e18e8c079d29e7",
			"zscore":   "f1d37f6cde3d7db5",
		}},
		{60, 6, Config{Seed: 3, Trees: 6, SampleSize: 2}, map[string]string{
			"copula":   "6dd91f95b2578861",
			"ecod":     "762ed72ed8f7ac59",
			"ecodx":    "865ac9835ad857a5",
			"ensemble": "0b21fd34f397ff4d",
			"hbos":     "1b7191d7b282d799",
			"iforest":  "407fa712fa7ee5e5",
			"zscore":   "16bc08f6588e870d",
		}},
		{30, 5, Config{Seed: 4, Trees: 3, SampleSize: 1}, map[string]string{
			"copula":   "49430b0191794091",
			"ecod":     "d7a68d7038768009",
			"ecodx":    "e6ea1ad64a0106d5",
			"ensemble": "fe0765a06b739e2d",
			"hbos":     "2a91707a5ff03ab1",
			"iforest":  "02470a741dd17065",
			"zscore":   "4e36aa2f47f5baa5",
		}},
		{300, 9, Config{Seed: 5, Trees: 11, SampleSize: 20}, map[string]string{ // depth 5
			"iforest": "61f42c944f001089",
		}},
		{900, 7, Config{Seed: 6, Trees: 5, SampleSize: 600}, map[string]string{ // depth 10
			"iforest": "1ded361dec94fbf0",
		}},
	} {
		X := awkward(tc.c.Seed, tc.n, tc.d)
		Q := queries(tc.c.Seed+100, X)
		for name, want := range tc.want {
			X, Q := X, Q
			if name == "ecodx" || name == "copula" {
				X, Q = coarse(X), coarse(Q)
			}
			d := fitted(t, name, tc.c, X)
			// The forest's top levels by vector where the processor has
			// them, and in Go: both must give the same bits.
			for _, vector := range []bool{hasAVX512, false} {
				vectors = vector
				if got := scoreDigest(d, Q); got != want {
					t.Errorf("%d×%d %+v %s (top levels by vector %v): score digest %s, want %s", tc.n, tc.d, tc.c, name, vector, got, want)
				}
			}
			vectors = hasAVX512
		}
	}
}
