package evaluate

import (
	"cmp"
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"imgward/detect"
	"imgward/detect/pipeline"
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
			cpu := cpuTime()
			for b.Loop() {
				detect.ScoreBatch(d, T, out)
			}
			reportRates(b, len(T), cpu)
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
	train, test, _, err := readTables(o.Train, o.Test)
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
// CIC-MalMem-2022 test rows of the MalMem protocol (11,020 rows) through
// the one pipeline, as the service and
// imgward eval score: each row a replayed snapshot, featurised by the
// baseline (pipeline.Scorer.Vector), scored and calibrated into a
// surprise, on one goroutine.
func BenchmarkPipelineMalMem(b *testing.B) { pipelineMalMem(b, detect.DefaultName) }

// BenchmarkPipelineMalMemCopula measures the copula as the default
// would score, the speed that refused it (refusedDetectors).
func BenchmarkPipelineMalMemCopula(b *testing.B) { pipelineMalMem(b, "copula") }

func pipelineMalMem(b *testing.B, det string) {
	o := malmem(b)
	o.Detector = det
	if err := o.Check(); err != nil {
		b.Fatal(err)
	}
	train, rows, test, err := split(o)
	if err != nil {
		b.Fatal(err)
	}
	sc, _, err := fit(context.Background(), train, rows, o)
	if err != nil {
		b.Fatal(err)
	}
	snaps, err := snapshots(test, nil, o)
	if err != nil {
		b.Fatal(err)
	}
	cpu := cpuTime()
	for b.Loop() {
		scores, err := sc.ScoreAll(context.Background(), snaps, 1)
		if err != nil {
			b.Fatal(err)
		}
		sc.Surprises(scores)
	}
	reportRates(b, len(snaps), cpu)
}

// reportRates reports the rows scored per second of the benchmark's time
// and per second of the processor time the process took since cpu. On a
// machine that other work shares, the second is the steadier measure of a
// benchmark on one goroutine (GOMAXPROCS=1): it counts only the time the
// process ran.
func reportRates(b *testing.B, rows int, cpu time.Duration) {
	b.ReportMetric(float64(b.N*rows)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(b.N*rows)/(cpuTime()-cpu).Seconds(), "rows/cpu-s")
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

// BenchmarkEvalADFARecurrent runs the ADFA-LD protocol of
// docs/EVALUATION.md with and without --recurrent (train -> validation +
// attack) and fails if the recurrent language model costs more than 0.02
// of pooled or worst-family AUC: it is off by default because it gains
// too little for its minutes of training, not because it hurts. It trains
// the recurrent models (minutes on 2 cores), so go test leaves it out;
// make bench runs it.
func BenchmarkEvalADFARecurrent(b *testing.B) {
	o := adfa(b)
	rec := o
	rec.Recurrent = true
	for b.Loop() {
		base, err := Run(context.Background(), o)
		if err != nil {
			b.Fatal(err)
		}
		r, err := Run(context.Background(), rec)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(r.Instance.AUC, "auc")
		b.ReportMetric(worst(r.Families), "worst_family_auc")
		if r.Instance.AUC < base.Instance.AUC-0.02 || worst(r.Families) < worst(base.Families)-0.02 {
			b.Errorf("--recurrent: auc %.4f, worst family %.4f; without: %.4f, %.4f", r.Instance.AUC,
				worst(r.Families), base.Instance.AUC, worst(base.Families))
		}
	}
}

// BenchmarkSelect runs the leave-one-family-out selection of
// docs/EVALUATION.md on ADFA-LD (the sequence candidates) and on
// CIC-MalMem-2022 (the detectors), and fails unless the best candidates
// not refused are the shipped defaults: pipeline.DefaultSequence with
// pipeline.DefaultTraceFeatures, and detect.DefaultName. It takes a few minutes, so go test leaves it
// out; make bench runs it.
func BenchmarkSelect(b *testing.B) {
	for b.Loop() {
		sel, err := Select(context.Background(), adfa(b), SequenceCandidates(), 5)
		if err != nil {
			b.Fatal(err)
		}
		feats := pipeline.DefaultTraceFeatures()
		want := newCandidate(cmp.Or(feats.Detector, detect.DefaultName), pipeline.DefaultSequence().Combine,
			cmp.Or(pipeline.DefaultSequence().Order, 6), pipeline.DefaultSequence().Models, feats.CallSet)
		logSelection(b, "adfa", sel)
		if got := bestAdmitted(sel, refused); got != want.Name {
			b.Errorf("ADFA-LD: selected %s (best admitted %s), the default is %s", sel.Default, got, want.Name)
		}
		if sel, err = Select(context.Background(), malmem(b), DetectorCandidates(), 5); err != nil {
			b.Fatal(err)
		}
		logSelection(b, "malmem", sel)
		if got := bestAdmitted(sel, refusedDetectors); got != detect.DefaultName {
			b.Errorf("MalMem: selected %s (best admitted %s), the default is %s", sel.Default, got, detect.DefaultName)
		}
	}
}

// refused are the candidates, in the selection's order, that the service
// cannot ship whatever their score, with the reason: the service must also
// catch a trace made of known calls in a new order (api
// TestDetectionSyscalls's exfiltrator), a threat ADFA-LD's families do
// not hold. The candidates were checked in the ranking's order, each by
// the test's ten draws of traces (seeds 1 to 10 of its generator) with the
// candidate as the service's default, until one caught the exfiltrator at
// least as often as the default it replaces (9 of 10): in the round of
// ECODX, sep(nll6,calls)/ecodx, second of the ranking, 10 of 10 in three
// runs of the ten draws (the default it replaced, sep(unseen6,calls)/ecod,
// 9, then 10 of 10 in the same harness). The entries below it are the earlier
// rounds' refusals.
var refused = map[string]string{
	"sep(nll6,calls)/ecod":   "misses TestDetectionSyscalls's exfiltrator in 4 draws of 10 (6 in a rerun)",
	"sep(cover,calls)/ecod":  "misses TestDetectionSyscalls's exfiltrator in 6 and 7 draws of 10 (two runs)",
	"sep(nll10,calls)/ecod":  "misses TestDetectionSyscalls's exfiltrator in 7 draws of 10",
	"sep(calls,local6)/ecod": "misses TestDetectionSyscalls's exfiltrator in 7 draws of 10",
}

// refusedDetectors are the detectors, in the MalMem selection's order,
// that cannot be the default whatever their score, with the reason: issue
// 9 asks the default detector, scoring through the one pipeline, to be at
// least 10 times as fast as scikit-learn's IsolationForest on one core.
var refusedDetectors = map[string]string{
	"copula": "0.57-0.70x the ensemble's rate through the pipeline on one core, 6.7-7.3x scikit-learn's (BenchmarkPipelineMalMem, docs/BENCHMARKS.md)",
}

// bestAdmitted returns the candidate with the best worst family that is
// not refused.
func bestAdmitted(sel *Selection, refused map[string]string) string {
	best, worst := "", -1.0
	for _, c := range sel.Candidates {
		if _, no := refused[c.Name]; !no && c.Worst > worst {
			best, worst = c.Name, c.Worst
		}
	}
	return best
}

// logSelection prints what a selection chose and its test figures.
func logSelection(b *testing.B, name string, sel *Selection) {
	fmt.Printf("select %s: default %s, test auc %.4f, worst family %.4f\n", name, sel.Default,
		sel.DefaultTest.Instance.AUC, worst(sel.DefaultTest.Families))
	for _, f := range sel.Families {
		fmt.Printf("select %s: %s chosen without it: %s, test auc %.4f\n", name, f, sel.Chosen[f], sel.Test[f].AUC)
	}
}
