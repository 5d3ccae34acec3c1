package detect

import (
	"testing"
	"time"

	"imgward/internal/cputime"
)

// The benchmarks score rows shaped like CIC-MalMem-2022: 54 features, a
// baseline of 2,000 rows.
func benchScore(b *testing.B, name string) {
	X := gaussian(1, 2000, 54)
	test := gaussian(2, 1024, 54)
	d := fitted(b, name, Config{Seed: 1}, X)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processTime(b)
	sink := 0.0
	for i := 0; b.Loop(); i++ {
		sink += d.Score(test[i%len(test)])
	}
	reportRates(b, b.N, cpu)
	_ = sink
}

// processTime returns the processor time of the process so far.
func processTime(b *testing.B) time.Duration {
	d, err := cputime.Process()
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// reportRates reports rows scored per second of the wall clock and per
// second of the processor time taken since cpu, which on a shared machine
// follows the code rather than the load.
func reportRates(b *testing.B, rows int, cpu time.Duration) {
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(rows)/(processTime(b)-cpu).Seconds(), "rows/cpu-s")
}

func BenchmarkScoreZScore(b *testing.B)   { benchScore(b, "zscore") }
func BenchmarkScoreHBOS(b *testing.B)     { benchScore(b, "hbos") }
func BenchmarkScoreECOD(b *testing.B)     { benchScore(b, "ecod") }
func BenchmarkScoreECODX(b *testing.B)    { benchScore(b, "ecodx") }
func BenchmarkScoreCopula(b *testing.B)   { benchScore(b, "copula") }
func BenchmarkScoreIForest(b *testing.B)  { benchScore(b, "iforest") }
func BenchmarkScoreEnsemble(b *testing.B) { benchScore(b, "ensemble") }

func BenchmarkFitIForest(b *testing.B) {
	X := gaussian(1, 2000, 54)
	for b.Loop() {
		d := NewIForest(Config{Seed: 1})
		if err := d.Fit(X); err != nil {
			b.Fatal(err)
		}
	}
}

func benchBatch(b *testing.B, name string) {
	X := gaussian(1, 2000, 54)
	test := gaussian(2, 256, 54)
	d := fitted(b, name, Config{Seed: 1}, X)
	out := make([]float64, len(test))
	b.ReportAllocs()
	cpu := processTime(b)
	for b.Loop() {
		ScoreBatch(d, test, out)
	}
	reportRates(b, b.N*len(test), cpu)
}

func BenchmarkScoreBatchIForest(b *testing.B)  { benchBatch(b, "iforest") }
func BenchmarkScoreBatchEnsemble(b *testing.B) { benchBatch(b, "ensemble") }

// ECODX beside ECOD: its batch is ECOD's, and Score again for the rows
// with a value beyond the baseline's range (about 5% of these rows).
func BenchmarkScoreBatchECOD(b *testing.B)   { benchBatch(b, "ecod") }
func BenchmarkScoreBatchECODX(b *testing.B)  { benchBatch(b, "ecodx") }
func BenchmarkScoreBatchCopula(b *testing.B) { benchBatch(b, "copula") }
