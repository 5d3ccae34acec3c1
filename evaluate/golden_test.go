package evaluate

import (
	"encoding/binary"
	"hash/fnv"
	"math"
	"testing"

	"imgward/detect"
)

// TestMalMemScoresUnchanged pins the bits of every detector's scores of
// the CIC-MalMem-2022 rows, by Score and by ScoreBatch, to those of the
// code before the scoring was made faster (commit 3e80635): the speed-ups
// must not change a single score. ecodx and copula are pinned as they
// were added.
func TestMalMemScoresUnchanged(t *testing.T) {
	X, T, names := malmemRows(t)
	want := map[string]uint64{
		"copula":   0xbf8c7d93a5228c19,
		"ecod":     0x14c94d37a1f9c34d,
		"ecodx":    0x56bc4e66905d218d,
		"ensemble": 0x5983e2c870f0d15d,
		"hbos":     0x9b1b51a4ba71f021,
		"iforest":  0x53b06f3e07b5d892,
		"zscore":   0xa4a67186ee51927d,
	}
	out := make([]float64, len(T))
	for _, name := range detect.Names() {
		d, _ := detect.New(name, detect.Config{Names: names})
		if err := d.Fit(X); err != nil {
			t.Fatal(err)
		}
		detect.ScoreBatch(d, T, out)
		h := fnv.New64a()
		var b [8]byte
		for i, x := range T {
			for _, s := range []float64{d.Score(x), out[i]} {
				binary.LittleEndian.PutUint64(b[:], math.Float64bits(s))
				h.Write(b[:])
			}
		}
		if got := h.Sum64(); got != want[name] {
			t.Errorf("%s: score digest %#016x, want %#016x", name, got, want[name])
		}
	}
}
