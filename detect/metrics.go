package detect

import (
	"cmp"
	"math"
	"slices"

	"imgward/errors"
)

// AUC returns the area under the ROC curve of scores against labels (true
// for an anomaly): the probability that a random anomaly scores above a
// random normal row, ties counting one half (rows of equal score share
// their average rank). It is an error of kind Invalid when the lengths
// differ, when either class is empty, or when a score is NaN.
func AUC(scores []float64, anomaly []bool) (float64, error) {
	pos, neg, err := classes("detect.AUC", scores, anomaly)
	if err != nil {
		return 0, err
	}
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(scores[a], scores[b]) })
	rankSum := 0.0 // sum of the 1-based ranks of the anomalies
	for i := 0; i < len(idx); {
		k := i
		for k < len(idx) && scores[idx[k]] == scores[idx[i]] {
			k++
		}
		avg := float64(i+1+k) / 2 // average of ranks i+1..k
		for _, r := range idx[i:k] {
			if anomaly[r] {
				rankSum += avg
			}
		}
		i = k
	}
	p, n := float64(pos), float64(neg)
	return (rankSum - p*(p+1)/2) / (p * n), nil
}

// TPRAtFPR returns the largest true-positive rate of a threshold whose
// false-positive rate is at most fpr: the threshold is the (k+1)-th highest
// normal score, k = floor(fpr × normals), and only scores strictly above it
// count as detections, so ties never push the false-positive rate over fpr.
// Errors are those of AUC.
func TPRAtFPR(scores []float64, anomaly []bool, fpr float64) (float64, error) {
	pos, neg, err := classes("detect.TPRAtFPR", scores, anomaly)
	if err != nil {
		return 0, err
	}
	normal := make([]float64, 0, neg)
	for i, s := range scores {
		if !anomaly[i] {
			normal = append(normal, s)
		}
	}
	slices.SortFunc(normal, func(a, b float64) int { return cmp.Compare(b, a) })
	k := int(math.Floor(fpr*float64(neg) + 1e-9))
	if k >= neg {
		return 1, nil
	}
	thr, tp := normal[k], 0
	for i, s := range scores {
		if anomaly[i] && s > thr {
			tp++
		}
	}
	return float64(tp) / float64(pos), nil
}

// classes validates scores and labels and counts the two classes.
func classes(op string, scores []float64, anomaly []bool) (pos, neg int, err error) {
	if len(scores) != len(anomaly) {
		return 0, 0, errors.E(op, errors.Invalid,
			errors.Errorf("%d scores for %d labels", len(scores), len(anomaly)))
	}
	for i, s := range scores {
		if math.IsNaN(s) {
			return 0, 0, errors.E(op, errors.Invalid, errors.Errorf("score %d is NaN", i))
		}
		if anomaly[i] {
			pos++
		} else {
			neg++
		}
	}
	if pos == 0 || neg == 0 {
		return 0, 0, errors.E(op, errors.Invalid,
			errors.Errorf("need both classes: %d anomalies, %d normal", pos, neg))
	}
	return pos, neg, nil
}
