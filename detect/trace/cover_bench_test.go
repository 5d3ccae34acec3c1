package trace

import (
	"math/rand/v2"
	"syscall"
	"testing"
	"time"
)

// markovTraces returns n traces of 200–600 calls of a random walk over 60
// calls, each call followed by one of 4 others: about the size and
// vocabulary of ADFA-LD's 833 training traces.
func markovTraces(n int, seed uint64) [][]int32 {
	rng := rand.New(rand.NewPCG(seed, 1))
	next := make([][4]int32, 60)
	for i := range next {
		for j := range next[i] {
			next[i][j] = int32(rand.New(rand.NewPCG(uint64(i), uint64(j))).IntN(60))
		}
	}
	ts := make([][]int32, n)
	for i := range ts {
		c := int32(rng.IntN(60))
		for range 200 + rng.IntN(400) {
			ts[i] = append(ts[i], c)
			c = next[c][rng.IntN(4)]
		}
	}
	return ts
}

// BenchmarkSequenceModel measures one fit of a model on 800 traces (about
// 320,000 calls) and its scoring of 800 others, per model, and reports the
// scoring's processor time per call: go test -run '^$' -bench
// SequenceModel ./detect/trace.
func BenchmarkSequenceModel(b *testing.B) {
	train, test := markovTraces(800, 1), markovTraces(800, 2)
	calls := 0
	for _, t := range test {
		calls += len(t)
	}
	for _, m := range []Model{Unseen, Local, Cover, Match20, CoverNear, CondNLL} {
		b.Run(string(m), func(b *testing.B) {
			cfg := SequenceConfig{Models: []Model{m}, Folds: 2}
			var scoring time.Duration
			out := make([][]float64, len(test))
			for b.Loop() {
				s := NewSequence(cfg)
				if _, err := s.Fit(train); err != nil {
					b.Fatal(err)
				}
				cpu := cpuTime()
				for i := range out {
					out[i] = out[i][:0]
				}
				s.AppendFeatures(test, out)
				scoring += cpuTime() - cpu
			}
			b.ReportMetric(float64(scoring.Nanoseconds())/float64(b.N*calls), "cpu-ns/call-scored")
		})
	}
}

// cpuTime returns the processor time the process has taken, user and
// system, on every thread.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
