package detect

import (
	"math"
	"testing"

	"imgward/errors"
)

func TestAUC(t *testing.T) {
	for _, tc := range []struct {
		name    string
		scores  []float64
		anomaly []bool
		want    float64
	}{
		{"perfect", []float64{1, 2, 3, 4}, []bool{false, false, true, true}, 1},
		{"reversed", []float64{4, 3, 2, 1}, []bool{false, false, true, true}, 0},
		{"sklearn example", []float64{0.1, 0.4, 0.35, 0.8}, []bool{false, false, true, true}, 0.75},
		{"all tied", []float64{5, 5, 5, 5}, []bool{false, true, false, true}, 0.5},
		{"one tie", []float64{1, 1, 2}, []bool{false, true, true}, 0.75},
		{"ties across", []float64{1, 2, 2, 3}, []bool{false, true, false, true}, 0.875},
	} {
		got, err := AUC(tc.scores, tc.anomaly)
		if err != nil || math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s: AUC = %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
}

func TestTPRAtFPR(t *testing.T) {
	// 100 normal rows score 0..99; anomalies score 97.5, 98, 98.5, 99.5.
	var scores []float64
	var anomaly []bool
	for i := range 100 {
		scores, anomaly = append(scores, float64(i)), append(anomaly, false)
	}
	for _, s := range []float64{97.5, 98, 98.5, 99.5} {
		scores, anomaly = append(scores, s), append(anomaly, true)
	}
	for _, tc := range []struct{ fpr, want float64 }{
		{0, 0.25},   // above 99: 99.5
		{0.01, 0.5}, // one allowed: above 98 (the anomaly at 98 ties, so it does not count)
		{0.02, 1},   // two allowed: above 97, every anomaly
		{1, 1},
	} {
		got, err := TPRAtFPR(scores, anomaly, tc.fpr)
		if err != nil || got != tc.want {
			t.Errorf("TPRAtFPR(%v) = %v, %v; want %v", tc.fpr, got, err, tc.want)
		}
	}
}

func TestMetricErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		scores  []float64
		anomaly []bool
	}{
		{"lengths", []float64{1, 2}, []bool{true}},
		{"no anomalies", []float64{1, 2}, []bool{false, false}},
		{"no normals", []float64{1, 2}, []bool{true, true}},
		{"NaN", []float64{1, math.NaN()}, []bool{true, false}},
		{"empty", nil, nil},
	} {
		if _, err := AUC(tc.scores, tc.anomaly); !errors.Is(errors.Invalid, err) {
			t.Errorf("AUC %s: err = %v, want kind Invalid", tc.name, err)
		}
		if _, err := TPRAtFPR(tc.scores, tc.anomaly, 0.01); !errors.Is(errors.Invalid, err) {
			t.Errorf("TPRAtFPR %s: err = %v, want kind Invalid", tc.name, err)
		}
	}
}
