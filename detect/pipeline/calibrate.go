package pipeline

import (
	"math"
	"slices"

	"imgward/detect"
)

// calibFolds is the number of folds of the cross-fit calibration.
const calibFolds = 5

// crossScores scores every training row with a detector fitted on the
// other folds. A detector scores the rows it was fitted on lower than new
// rows of the same behaviour, so calibrating on its own training scores
// would make every new benign instance look surprising (a mean surprise
// near 2 where it should be 1, in the simulator); out-of-fold scores are
// what a new benign instance gets. With fewer than 2*calibFolds rows the
// in-sample scores are used.
func (m *Model) crossScores(cols []string) ([]float64, error) {
	n := len(m.Rows)
	out := make([]float64, n)
	if n < 2*calibFolds {
		det, err := detect.New(m.Detector, detect.Config{Names: cols, Seed: m.Seed})
		if err == nil {
			if err = det.Fit(m.Rows); err == nil {
				detect.ScoreBatch(det, m.Rows, out)
			}
		}
		return out, err
	}
	for f := range calibFolds {
		var train, test [][]float64
		var idx []int
		for i, r := range m.Rows {
			if i%calibFolds == f {
				test, idx = append(test, r), append(idx, i)
			} else {
				train = append(train, r)
			}
		}
		det, err := detect.New(m.Detector, detect.Config{Names: cols, Seed: m.Seed + uint64(f) + 1})
		if err != nil {
			return nil, err
		}
		if err := det.Fit(train); err != nil {
			return nil, err
		}
		scores := make([]float64, len(test))
		detect.ScoreBatch(det, test, scores)
		for j, i := range idx {
			out[i] = scores[j]
		}
	}
	return out, nil
}

// maxSurprise caps one instance's surprise (p = 4.5e-5), so that a single
// wild instance cannot outweigh a benign fleet on its own: with n
// instances its share of the mean is at most maxSurprise/n.
const maxSurprise = 10

// Surprise is Uncapped, at most maxSurprise.
func (sc *Scorer) Surprise(score float64) float64 { return min(maxSurprise, sc.Uncapped(score)) }

// maxUncapped bounds Uncapped (p = e^-1e6): far beyond any threshold, and
// finite, as the unified state requires.
const maxUncapped = 1e6

// Uncapped is -ln p of a score, p its conformal tail probability among
// the training scores, as in docs/EVALUATION.md. Beyond the largest
// training score the empirical p stops at 1/(n+1), which with a baseline
// of a few dozen rows would cap every zombie's surprise at ln(n+1) ≈ 4 and
// hide a partly infected fleet; there p is extrapolated by an exponential
// tail fitted to the top tenth of the training scores (peaks over a
// threshold), up to maxUncapped. Surprise caps it; the service also keeps
// it uncapped, the scale on which a cleared publisher is judged again (a
// fleet cleared at the cap can still turn worse on it).
func (sc *Scorer) Uncapped(score float64) float64 {
	n := len(sc.calib)
	below, _ := slices.BinarySearch(sc.calib, score)
	s := -math.Log(float64(1+n-below) / float64(n+1))
	if below < n {
		return s
	}
	k := max(5, n/10)
	if k >= n {
		return s
	}
	u := sc.calib[n-k-1]
	beta := 0.0
	for _, v := range sc.calib[n-k:] {
		beta += v - u
	}
	if beta /= float64(k); beta <= 0 {
		return s
	}
	tail := -math.Log(float64(k)/float64(n+1)) + (score-u)/beta
	return min(maxUncapped, max(s, tail))
}
