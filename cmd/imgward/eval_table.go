package main

import (
	"fmt"
	"io"
	"maps"
	"slices"

	"imgward/evaluate"
)

// printResult writes an evaluation's result for a person.
func printResult(w io.Writer, r *evaluate.Result, o evaluate.Options) {
	fmt.Fprintf(w, "detector   %s\n", o.Detector)
	fmt.Fprintf(w, "n_train    %d\nn_test     %d\nrows/s     %.0f\n\n", r.NTrain, r.NTest, r.RowsPerSecond)
	fmt.Fprintf(w, "%-24s %8s %12s\n", "level", "auc", "tpr@fpr<=1%")
	fmt.Fprintf(w, "%-24s %8.4f %12.4f\n", "instance", r.Instance.AUC, r.Instance.TPR)
	for _, f := range slices.Sorted(maps.Keys(r.Families)) {
		m := r.Families[f]
		fmt.Fprintf(w, "%-24s %8.4f %12.4f\n", "  "+f, m.AUC, m.TPR)
	}
	if r.Publisher != nil {
		fmt.Fprintf(w, "%-24s %8.4f %12.4f\n", "publisher", r.Publisher.AUC, r.Publisher.TPR)
	}
}

// printSelection writes a leave-one-family-out selection for a person.
func printSelection(w io.Writer, s *evaluate.Selection) {
	fmt.Fprintf(w, "cross-validated AUC on %d folds of the training rows, per family\n", s.Folds)
	fmt.Fprintf(w, "%-32s", "candidate")
	for _, f := range s.Families {
		fmt.Fprintf(w, " %12.12s", f)
	}
	fmt.Fprintf(w, " %8s\n", "worst")
	for _, c := range s.Candidates {
		fmt.Fprintf(w, "%-32s", c.Name)
		for _, f := range s.Families {
			fmt.Fprintf(w, " %12.4f", c.Families[f])
		}
		fmt.Fprintf(w, " %8.4f\n", c.Worst)
	}
	fmt.Fprintf(w, "\ndefault (best worst family over all families): %s\n", s.Default)
	fmt.Fprintf(w, "\n%-24s %-32s %8s %12s\n", "family", "chosen without it", "test auc", "tpr@fpr<=1%")
	for _, f := range s.Families {
		m, ok := s.Test[f]
		if !ok {
			fmt.Fprintf(w, "%-24s %-32s\n", f, s.Chosen[f])
			continue
		}
		fmt.Fprintf(w, "%-24s %-32s %8.4f %12.4f\n", f, s.Chosen[f], m.AUC, m.TPR)
	}
	if r := s.DefaultTest; r != nil {
		fmt.Fprintf(w, "\ndefault on the test rows (%d training, %d test rows)\n", r.NTrain, r.NTest)
		fmt.Fprintf(w, "%-24s %8.4f %12.4f\n", "pooled", r.Instance.AUC, r.Instance.TPR)
		for _, f := range s.Families {
			m := r.Families[f]
			fmt.Fprintf(w, "%-24s %8.4f %12.4f\n", "  "+f, m.AUC, m.TPR)
		}
	}
}
