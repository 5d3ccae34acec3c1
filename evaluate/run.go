package evaluate

import (
	"context"
	"os"
	"time"

	"imgward/detect"
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

// Run performs the evaluation that o describes. No test row is one the
// detector trained on: when --test is the --train file, the training rows
// are left out of its test rows.
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

// evalRows trains on the given rows of train and scores every row of test.
func evalRows(ctx context.Context, o Options, train *dataset.Table, rows []int, test *dataset.Table) (*Result, error) {
	fz, X, err := fitFeatures(train, rows, o)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	det, err := detect.New(o.Detector, detect.Config{Names: fz.names(), Seed: o.Seed})
	if err != nil {
		return nil, err
	}
	if err := det.Fit(X); err != nil {
		return nil, err
	}
	labels, err := test.Strings(nil, o.LabelCol)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	scores, err := scoreTable(ctx, det, fz, test, o.Workers)
	if err != nil {
		return nil, err
	}
	elapsed := time.Since(start)
	anomaly := make([]bool, len(labels))
	for i, l := range labels {
		anomaly[i] = l != o.Normal
	}
	res := &Result{NTrain: len(X), NTest: len(scores),
		RowsPerSecond: float64(len(scores)) / max(elapsed.Seconds(), 1e-9)}
	if res.Instance, err = metrics(scores, anomaly); err != nil {
		return nil, err
	}
	if o.FamilyCol != "" {
		if res.Families, err = familyMetrics(test, o.FamilyCol, scores, anomaly); err != nil {
			return nil, err
		}
	}
	if o.Fleet != nil {
		cal := newCalibration(det, X)
		m, err := simulate(ctx, *o.Fleet, cal.surprise(scores), anomaly, o.FleetParam)
		if err != nil {
			return nil, err
		}
		res.Publisher = &m
	}
	return res, nil
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
