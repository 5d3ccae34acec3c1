package evaluate

import (
	"math/rand/v2"
	"slices"

	"imgward/errors"
	"imgward/introspect/dataset"
)

// split reads the files of o and returns the training table, its training
// rows (normal, matching Where, less Holdout) and the test table: when it
// is the training file, only the rows not trained on.
func split(o Options) (train *dataset.Table, rows []int, test *dataset.Table, err error) {
	train, test, same, err := readTables(o.Train, o.Test)
	if err != nil {
		return nil, nil, nil, err
	}
	if rows, err = trainRows(train, o); err != nil {
		return nil, nil, nil, err
	}
	if o.Holdout > 0 {
		rows = holdout(rows, o.Holdout, o.SplitSeed)
	}
	if same {
		test = train.Subset(complement(rows, len(train.Rows)))
	}
	return train, rows, test, hasNormal(test, o)
}

// holdout returns rows without a fraction frac of them, chosen by a shuffle
// seeded by seed, in their original order: the rows left out are test rows
// that no model trained on. At least one row stays.
func holdout(rows []int, frac float64, seed uint64) []int {
	shuffled := slices.Clone(rows)
	rng := rand.New(rand.NewPCG(seed, 0x401d))
	rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	keep := shuffled[:max(1, len(rows)-int(frac*float64(len(rows))+0.5))]
	slices.Sort(keep)
	return keep
}

// complement returns the indices in [0, n) that are not in rows, which is
// sorted.
func complement(rows []int, n int) []int {
	out := make([]int, 0, n-len(rows))
	j := 0
	for i := range n {
		if j < len(rows) && rows[j] == i {
			j++
			continue
		}
		out = append(out, i)
	}
	return out
}

// familyMetrics returns, for each value of column col among the anomalous
// rows of t, the metrics of those rows' scores against the scores of all
// normal rows.
func familyMetrics(t *dataset.Table, col string, scores []float64, anomaly []bool) (map[string]Metrics, error) {
	fam, err := t.Strings(nil, col)
	if err != nil {
		return nil, err
	}
	byFamily := map[string][]int{}
	var normal []int
	for i, a := range anomaly {
		if a {
			byFamily[fam[i]] = append(byFamily[fam[i]], i)
		} else {
			normal = append(normal, i)
		}
	}
	if len(normal) == 0 {
		return nil, errors.E("eval", errors.Invalid, errors.New("no normal test rows to compare the families with"))
	}
	out := make(map[string]Metrics, len(byFamily))
	for f, rows := range byFamily {
		s := make([]float64, 0, len(normal)+len(rows))
		a := make([]bool, 0, cap(s))
		for _, i := range normal {
			s, a = append(s, scores[i]), append(a, false)
		}
		for _, i := range rows {
			s, a = append(s, scores[i]), append(a, true)
		}
		m, err := metrics(s, a)
		if err != nil {
			return nil, err
		}
		out[f] = m
	}
	return out, nil
}

// hasNormal reports a test table without normal rows, which leaves nothing
// to measure false positives by, as an error of kind Invalid.
func hasNormal(test *dataset.Table, o Options) error {
	labels, err := test.Strings(nil, o.LabelCol)
	if err != nil {
		return err
	}
	if !slices.Contains(labels, o.Normal) {
		return errors.E("eval", errors.Invalid, errors.Errorf(
			"no normal test rows: every row with %s=%s was trained on (hint: --holdout or --train-where)", o.LabelCol, o.Normal))
	}
	return nil
}
