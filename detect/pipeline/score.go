package pipeline

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"

	"imgward/detect"
	"imgward/snapshot"
)

// chunk is the number of snapshots a scoring goroutine takes at a time.
const chunk = 256

// ScoreAll featurises and scores snaps on workers goroutines (0 means
// GOMAXPROCS), chunk snapshots at a time through detect.ScoreBatch, which
// gives the bits that Score gives one row at a time. It stops when ctx is
// done.
func (sc *Scorer) ScoreAll(ctx context.Context, snaps []*snapshot.Snapshot, workers int) ([]float64, error) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	scores := make([]float64, len(snaps))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			nc := sc.idx.cache()
			defer sc.idx.release(nc)
			// The rows of a chunk share one buffer, reused from chunk to
			// chunk: the detector reads them before the next is written.
			w, full := sc.width(), sc.width()+len(sc.seqTyp)
			buf, X := make([]float64, chunk*full), make([][]float64, 0, chunk)
			for {
				lo := int(next.Add(chunk)) - chunk
				if lo >= len(snaps) || ctx.Err() != nil {
					return
				}
				X = X[:0]
				clear(buf)
				for i, s := range snaps[lo:min(lo+chunk, len(snaps))] {
					X = append(X, sc.vector(buf[i*full:i*full+w:(i+1)*full], s, nc))
				}
				detect.ScoreBatch(sc.det, X, scores[lo:lo+len(X)])
			}
		})
	}
	wg.Wait()
	return scores, ctx.Err()
}

// Surprises returns the surprise of each score (Surprise).
func (sc *Scorer) Surprises(scores []float64) []float64 {
	out := make([]float64, len(scores))
	for i, s := range scores {
		out[i] = sc.Surprise(s)
	}
	return out
}
