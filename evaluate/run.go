package evaluate

import (
	"context"
	"os"
	"time"

	"imgward/detect"
	"imgward/detect/pipeline"
	"imgward/errors"
	"imgward/introspect/dataset"
)

// Result is what an evaluation measured; its JSON form is the output of
// `imgward eval --json`.
type Result struct {
	NTrain        int     `json:"n_train"`
	NTest         int     `json:"n_test"`
	RowsPerSecond float64 `json:"rows_per_second"` // test rows featurised and scored per second
	Instance      Metrics `json:"instance"`
	// Families are the metrics of each anomaly family (Options.FamilyCol)
	// on its own against all the normal test rows.
	Families  map[string]Metrics `json:"families,omitempty"`
	Publisher *Metrics           `json:"publisher,omitempty"`
}

// Metrics are the detection metrics of one level.
type Metrics struct {
	AUC float64 `json:"auc"`             // ROC AUC, ties counting one half
	TPR float64 `json:"tpr_at_fpr_1pct"` // true-positive rate at FPR <= 1%
}

// Run performs the evaluation that o describes: it scores the test rows as
// Score does, then measures the scores and, with o.Fleet, simulated
// publishers whose instances' surprises fold as the service folds them.
// No test row is one the detector trained on: when o.Test is the o.Train
// file, the training rows are left out of its test rows.
func Run(ctx context.Context, o Options) (*Result, error) {
	const op = "eval"
	if err := o.Check(); err != nil {
		return nil, wrap(op, err)
	}
	train, rows, test, err := split(o)
	if err != nil {
		return nil, wrap(op, err)
	}
	res, err := evalRows(ctx, o, train, rows, test)
	if err != nil {
		return nil, wrap(op, err)
	}
	return res, nil
}

// evalRows trains on the given rows of train, scores every row of test and
// measures the scores.
func evalRows(ctx context.Context, o Options, train *dataset.Table, rows []int, test *dataset.Table) (*Result, error) {
	sc, err := scoreRows(ctx, o, train, rows, test)
	if err != nil {
		return nil, err
	}
	res := &Result{NTrain: sc.NTrain, NTest: len(sc.Score),
		RowsPerSecond: float64(len(sc.Score)) / max(sc.Elapsed.Seconds(), 1e-9)}
	if res.Instance, err = metrics(sc.Score, sc.Anomaly); err != nil {
		return nil, err
	}
	if o.FamilyCol != "" {
		if res.Families, err = familyMetrics(test, o.FamilyCol, sc.Score, sc.Anomaly); err != nil {
			return nil, err
		}
	}
	if o.Fleet != nil {
		m, err := simulate(ctx, *o.Fleet, sc.Surprise, sc.Anomaly, o.FleetParam)
		if err != nil {
			return nil, err
		}
		res.Publisher = &m
	}
	return res, nil
}

// Scores are what an evaluation gives each test row.
type Scores struct {
	Score    []float64 // the detector's anomaly score
	Surprise []float64 // -ln p of the score, calibrated as the service calibrates
	Anomaly  []bool    // whether the row's label is not Options.Normal
	NTrain   int       // the training rows
	Elapsed  time.Duration
}

// Score scores every row of o.Test through the service's pipeline (package
// detect/pipeline): the rows become snapshots as `imgward replay` makes
// them (without the label), the normal training rows a baseline as a
// role's trusted instances do, and each test row's snapshot is scored
// against it as the service scores an instance. Unlike Run, it scores the
// training rows too when o.Test is the o.Train file, as the service scores
// its trusted instances. Elapsed times the featurising and scoring of the
// test rows.
func Score(ctx context.Context, o Options) (*Scores, error) {
	const op = "eval"
	if err := o.Check(); err != nil {
		return nil, wrap(op, err)
	}
	train, test, _, err := readTables(o.Train, o.Test)
	if err != nil {
		return nil, wrap(op, err)
	}
	rows, err := trainRows(train, o)
	if err != nil {
		return nil, wrap(op, err)
	}
	if o.Holdout > 0 {
		rows = holdout(rows, o.Holdout, o.SplitSeed)
	}
	sc, err := scoreRows(ctx, o, train, rows, test)
	if err != nil {
		return nil, wrap(op, err)
	}
	return sc, nil
}

// scoreRows trains on the given rows of train and scores every row of test.
func scoreRows(ctx context.Context, o Options, train *dataset.Table, rows []int, test *dataset.Table) (*Scores, error) {
	sc, n, err := fit(ctx, train, rows, o)
	if err != nil {
		return nil, err
	}
	labels, err := test.Strings(nil, o.LabelCol)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	snaps, err := snapshots(test, nil, o)
	if err != nil {
		return nil, err
	}
	scores, err := sc.ScoreAll(ctx, snaps, o.Workers)
	if err != nil {
		return nil, err
	}
	out := &Scores{Score: scores, Surprise: sc.Surprises(scores), Anomaly: make([]bool, len(labels)),
		NTrain: n, Elapsed: time.Since(start)}
	for i, l := range labels {
		out.Anomaly[i] = l != o.Normal
	}
	return out, nil
}

// fit builds and fits the baseline of the given rows of t, as the service
// builds a role's baseline from its trusted instances, and returns it with
// its number of training rows.
func fit(ctx context.Context, t *dataset.Table, rows []int, o Options) (*pipeline.Scorer, int, error) {
	snaps, err := snapshots(t, rows, o)
	if err != nil {
		return nil, 0, err
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	m := pipeline.Build(o.config(), snaps)
	if len(m.Columns()) == 0 {
		return nil, 0, errors.E("eval", errors.Invalid, errors.New(
			"no features: no column is numeric in every row, and --sequence-col is not set"))
	}
	sc, err := m.Fit()
	if err != nil {
		return nil, 0, err
	}
	return sc, len(m.Rows), nil
}

// wrap gives err the operation op unless it already has a kind, and so
// names its operation and kind itself.
func wrap(op string, err error) error {
	if errors.KindOf(err) != errors.Other {
		return err
	}
	return errors.E(op, err)
}

// metrics computes the AUC and the TPR at 1% FPR.
func metrics(scores []float64, anomaly []bool) (Metrics, error) {
	auc, err := detect.AUC(scores, anomaly)
	if err != nil {
		return Metrics{}, err
	}
	tpr, err := detect.TPRAtFPR(scores, anomaly, 0.01)
	return Metrics{AUC: auc, TPR: tpr}, err
}

// readTables reads the training and test files; the same file is read
// once, so that a pipe or process substitution may serve as both, and same
// reports it.
func readTables(trainName, testName string) (train, test *dataset.Table, same bool, err error) {
	if train, err = readTable(trainName); err != nil {
		return nil, nil, false, err
	}
	if testName == trainName {
		return train, train, true, nil
	}
	if a, errA := os.Stat(trainName); errA == nil {
		if b, errB := os.Stat(testName); errB == nil && os.SameFile(a, b) && a.Mode().IsRegular() {
			return train, train, true, nil
		}
	}
	test, err = readTable(testName)
	return train, test, false, err
}

func readTable(name string) (*dataset.Table, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, errors.E("eval", errors.NotExist, err)
	}
	defer f.Close()
	t, err := dataset.Read(f, dataset.Limits{})
	if err != nil {
		var e *errors.Error
		if errors.As(err, &e) { // name the file, keep op and kind
			return nil, errors.E(e.Op, e.Kind, errors.Errorf("%s: %w", name, e.Err))
		}
		return nil, err
	}
	return t, nil
}

// trainRows selects the rows of t labelled normal that match every Where.
func trainRows(t *dataset.Table, o Options) ([]int, error) {
	labels, err := t.Strings(nil, o.LabelCol)
	if err != nil {
		return nil, err
	}
	keep := make([]bool, len(labels))
	for i, l := range labels {
		keep[i] = l == o.Normal
	}
	for _, w := range o.Where {
		vs, err := t.Strings(nil, w.Col)
		if err != nil {
			return nil, err
		}
		for i, v := range vs {
			keep[i] = keep[i] && v == w.Value
		}
	}
	var rows []int
	for i, k := range keep {
		if k {
			rows = append(rows, i)
		}
	}
	if len(rows) == 0 {
		return nil, errors.E("eval", errors.Invalid,
			errors.Errorf("no training rows: none has %s=%s and matches --train-where", o.LabelCol, o.Normal))
	}
	return rows, nil
}
