package evaluate

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
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
	const chunk = 256 // as pipeline.ScoreAll takes them
	X, T, names := malmemRows(b)
	out := make([]float64, len(T))
	for _, name := range detect.Names() {
		d, _ := detect.New(name, detect.Config{Names: names})
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

// malmemRows returns the training rows, the test rows and the feature names
// of the CIC-MalMem-2022 evaluation as the CSV file holds them (the
// numeric columns in its order, as scikit-learn reads them), skipping when
// the data is absent.
func malmemRows(t testing.TB) (X, T [][]float64, names []string) {
	t.Helper()
	o := malmem(t)
	train, test, err := readTables(o.Train, o.Test)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := trainRows(train, o)
	if err != nil {
		t.Fatal(err)
	}
	names = train.NumericColumns(o.LabelCol)
	if X, err = train.Matrix(rows, names); err != nil {
		t.Fatal(err)
	}
	if T, err = test.Matrix(nil, names); err != nil {
		t.Fatal(err)
	}
	return X, T, names
}

// BenchmarkPipelineMalMem measures the default detector scoring the
// CIC-MalMem-2022 test rows through the one pipeline, as the service and
// imgward eval score: each row a replayed snapshot, featurised by the
// baseline (pipeline.Scorer.Vector) and scored, on one goroutine.
func BenchmarkPipelineMalMem(b *testing.B) {
	o := malmem(b)
	train, test, err := readTables(o.Train, o.Test)
	if err != nil {
		b.Fatal(err)
	}
	sc, _, err := fit(context.Background(), train, o)
	if err != nil {
		b.Fatal(err)
	}
	snaps, err := snapshots(test, nil, o)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := sc.ScoreAll(context.Background(), snaps, 1); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(snaps))/b.Elapsed().Seconds(), "rows/s")
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

// BenchmarkEvalADFARecurrent runs the ADFA-LD evaluation of
// docs/EVALUATION.md with --recurrent, on the whole dev file and on the
// held-out split (train → validation + attack), and fails if either AUC
// falls below the one recorded there. It trains the recurrent models twice
// (a few minutes on 2 cores), so go test leaves it out; make bench runs it.
func BenchmarkEvalADFARecurrent(b *testing.B) {
	o := adfa(b)
	o.Recurrent = true
	held := o
	held.Test = heldOut(b, o.Test)
	for b.Loop() {
		for _, c := range []struct {
			o      Options
			metric string
			floor  float64
		}{{o, "auc", 0.895}, {held, "heldout_auc", 0.870}} {
			r, err := Run(context.Background(), c.o)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(r.Instance.AUC, c.metric)
			if r.Instance.AUC < c.floor {
				b.Errorf("%s %.4f < %.3f", c.metric, r.Instance.AUC, c.floor)
			}
		}
	}
}

// heldOut writes the rows of the ADFA-LD file name that are not in
// set=train to a temporary file, and returns its name.
func heldOut(b testing.TB, name string) string {
	b.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		b.Fatal(err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	var out strings.Builder
	out.WriteString(lines[0])
	for _, l := range lines[1:] {
		if f := strings.SplitN(l, ",", 5); len(f) == 5 && f[3] != "train" {
			out.WriteString(l)
		}
	}
	f := filepath.Join(b.TempDir(), "adfa-ld-heldout.csv")
	if err := os.WriteFile(f, []byte(out.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	return f
}
