package evaluate

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"imgward/detect"
)

// BenchmarkScoreMalMem measures the scoring throughput of each detector on
// the 12,020 parsed rows of CIC-MalMem-2022: on one goroutine, as
// scikit-learn 1.2's IsolationForest.score_samples runs (it has no n_jobs
// for scoring), and on every processor, in chunks of 256 rows as imgward
// eval scores (procs=N).
func BenchmarkScoreMalMem(b *testing.B) {
	o := malmem(b)
	train, test, err := readTables(o.Train, o.Test)
	if err != nil {
		b.Fatal(err)
	}
	rows, err := trainRows(train, o)
	if err != nil {
		b.Fatal(err)
	}
	fz, X, err := fitFeatures(train, rows, o)
	if err != nil {
		b.Fatal(err)
	}
	T, err := fz.rows(test, nil)
	if err != nil {
		b.Fatal(err)
	}
	out := make([]float64, len(T))
	for _, name := range detect.Names() {
		d, _ := detect.New(name, detect.Config{Names: fz.names()})
		if err := d.Fit(X); err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				detect.ScoreBatch(d, T, out)
			}
			b.ReportMetric(float64(b.N*len(T))/b.Elapsed().Seconds(), "rows/s")
		})
		procs := runtime.GOMAXPROCS(0)
		if procs < 2 {
			continue
		}
		b.Run(fmt.Sprintf("%s/procs=%d", name, procs), func(b *testing.B) {
			for b.Loop() {
				var next atomic.Int64
				var wg sync.WaitGroup
				for range procs {
					wg.Go(func() {
						for {
							lo := int(next.Add(chunk)) - chunk
							if lo >= len(T) {
								return
							}
							hi := min(lo+chunk, len(T))
							detect.ScoreBatch(d, T[lo:hi], out[lo:hi])
						}
					})
				}
				wg.Wait()
			}
			b.ReportMetric(float64(b.N*len(T))/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkEval measures a whole evaluation, reading and training included.
func BenchmarkEval(b *testing.B) {
	for _, ds := range []struct {
		name string
		o    Options
	}{{"malmem", malmem(b)}, {"adfa", adfa(b)}} {
		b.Run(ds.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := Run(context.Background(), ds.o); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
