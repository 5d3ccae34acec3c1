package evaluate

import (
	"context"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"imgward/detect"
	"imgward/introspect/dataset"
)

// chunk is the number of rows a scoring goroutine takes at a time.
const chunk = 256

// scoreTable featurises and scores every row of t on workers goroutines (0
// means GOMAXPROCS). It stops at the first error.
func scoreTable(ctx context.Context, det detect.Detector, fz *featurizer, t *dataset.Table, workers int) ([]float64, error) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	scores := make([]float64, len(t.Rows))
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rows, out := make([]int, 0, chunk), make([]float64, chunk)
			for {
				lo := int(next.Add(chunk)) - chunk
				if lo >= len(scores) || ctx.Err() != nil {
					return
				}
				rows = rows[:0]
				for r := lo; r < min(lo+chunk, len(scores)); r++ {
					rows = append(rows, r)
				}
				X, err := fz.rows(t, rows)
				if err != nil {
					fail(err)
					next.Store(int64(len(scores))) // stop the others
					return
				}
				detect.ScoreBatch(det, X, out)
				copy(scores[lo:], out[:len(X)])
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return scores, ctx.Err()
}

// calibration turns a score into its surprise against the training rows'
// scores: -ln p, p = (1 + #training scores >= s) / (n + 1), the tail
// probability of a conformal p-value. Under the hypothesis that a row is
// normal, p is (nearly) uniform, so -ln p has mean 1 whatever the
// detector, and a sum over instances is Fisher's combination statistic.
type calibration struct{ sorted []float64 }

func newCalibration(det detect.Detector, X [][]float64) calibration {
	s := make([]float64, len(X))
	for i, x := range X {
		s[i] = det.Score(x)
	}
	slices.Sort(s)
	return calibration{sorted: s}
}

// surprise returns -ln p of each score.
func (c calibration) surprise(scores []float64) []float64 {
	n := len(c.sorted)
	out := make([]float64, len(scores))
	for i, s := range scores {
		below, _ := slices.BinarySearch(c.sorted, s) // training scores < s
		out[i] = -math.Log(float64(1+n-below) / float64(n+1))
	}
	return out
}
