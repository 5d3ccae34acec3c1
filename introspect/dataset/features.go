package dataset

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"

	"imgward/errors"
)

// SequenceConfig configures sequence features. A zero field means its
// default.
type SequenceConfig struct {
	// Order is the n-gram length, at most 32; default 6, the window of
	// STIDE (Forrest et al., 1996) and of the ADFA-LD literature.
	Order int
	// Folds is the number of folds of the cross-fitting that gives the
	// training traces features as if they were new; default 5.
	Folds int
	// Seed seeds the assignment of traces to folds and the neural model.
	Seed uint64
	// Neural, if not nil, adds the feature seq.nlm: the mean negative
	// log-likelihood of each element under a neural language model of the
	// training traces (see NeuralConfig).
	Neural *NeuralConfig
}

// Sequence turns traces into two (or three) features that say how novel a trace is
// with respect to the normal traces it was fitted on:
//
//   - seq.nll: the mean negative log-likelihood of each element given the
//     Order-1 elements before it, under an n-gram model of the training
//     traces smoothed by Witten-Bell interpolation of all shorter orders,
//     the n-gram counterpart of the LSTM language models of the
//     literature (Kim et al., 2016);
//   - seq.unseenN (N = Order): the fraction of the trace's N-grams never
//     seen in training, the STIDE score;
//   - seq.nlm, if Neural is set: the mean negative log-likelihood of each
//     element under a feed-forward neural language model of the training
//     traces (Bengio et al., 2003), which generalizes across contexts
//     through learned embeddings where a count model only sees unseen
//     n-grams. The models of the folds train in parallel.
//
// A detector must learn how novel normal traces are, but a trace is never
// novel to a model trained on it. Fit therefore returns the training
// traces' features by cross-fitting: each fold's traces are scored by a
// model of the other folds. Other traces are scored by the model of all
// training traces.
//
// The features only ever signal by being high: a trace more familiar than
// the typical (median) normal trace is no more normal for it. Features are
// therefore floored at the median of the cross-fitted training features, so
// that detectors that look at both tails do not flag the familiar.
type Sequence struct {
	cfg   SequenceConfig
	model *ngramModel
	nlm   *nlm
	floor []float64
}

// NewSequence returns an unfitted sequence featurizer.
func NewSequence(c SequenceConfig) *Sequence {
	if c.Order <= 0 {
		c.Order = 6
	}
	c.Order = min(c.Order, maxOrder)
	if c.Folds <= 0 {
		c.Folds = 5
	}
	return &Sequence{cfg: c}
}

// Names returns the names of the features, in order.
func (s *Sequence) Names() []string {
	names := []string{"seq.nll", fmt.Sprintf("seq.unseen%d", s.cfg.Order)}
	if s.cfg.Neural != nil {
		names = append(names, "seq.nlm")
	}
	return names
}

// Fit learns the normal traces and returns their cross-fitted features. It
// needs at least Folds traces (and Folds >= 2), else it is an error of kind
// Invalid.
func (s *Sequence) Fit(train [][]int32) ([][]float64, error) {
	k := s.cfg.Folds
	if len(train) < k || k < 2 {
		return nil, errors.E("dataset.Sequence.Fit", errors.Invalid,
			errors.Errorf("%d training traces; need at least %d (and 2 folds)", len(train), max(k, 2)))
	}
	fold := make([]int, len(train))
	for i := range fold {
		fold[i] = i % k
	}
	rng := rand.New(rand.NewPCG(s.cfg.Seed, 0x5e9))
	rng.Shuffle(len(fold), func(i, j int) { fold[i], fold[j] = fold[j], fold[i] })
	out := make([][]float64, len(train))
	var st seqStats
	for f := range k {
		m := newNgramModel(s.cfg.Order)
		for i, t := range train {
			if fold[i] != f {
				m.add(t)
			}
		}
		for i, t := range train {
			if fold[i] == f {
				out[i] = s.raw(m, t, &st, make([]float64, 0, 3))
			}
		}
	}
	if s.cfg.Neural != nil {
		s.nlm = s.fitNeural(train, fold, out)
	}
	s.floor = make([]float64, len(out[0]))
	for j := range s.floor {
		col := make([]float64, len(out))
		for i, x := range out {
			col[i] = x[j]
		}
		slices.Sort(col)
		s.floor[j] = col[len(col)/2]
		for _, x := range out {
			x[j] = max(x[j], s.floor[j])
		}
	}
	s.model = newNgramModel(s.cfg.Order)
	for _, t := range train {
		s.model.add(t)
	}
	return out, nil
}

// Typical returns the features of a typical normal trace: the medians of
// the training traces' cross-fitted features, at which Features floors
// every trace. It panics if the featurizer is not fitted.
func (s *Sequence) Typical() []float64 {
	if s.model == nil {
		panic("dataset: Sequence.Typical before Fit")
	}
	return slices.Clone(s.floor)
}

// Features appends the features of trace t to dst and returns it. It is
// safe for concurrent use and panics if the featurizer is not fitted.
func (s *Sequence) Features(t []int32, dst []float64) []float64 {
	if s.model == nil {
		panic("dataset: Sequence.Features before Fit")
	}
	var st seqStats
	n := len(dst)
	dst = s.raw(s.model, t, &st, dst)
	if s.nlm != nil {
		dst = append(dst, s.nlm.nll(t, s.nlm.scratch()))
	}
	for j, f := range s.floor {
		dst[n+j] = max(dst[n+j], f)
	}
	return dst
}

// raw appends the unfloored features of t under model m.
func (s *Sequence) raw(m *ngramModel, t []int32, st *seqStats, dst []float64) []float64 {
	m.stats(t, st)
	nll := 0.0
	if len(t) > 0 {
		nll = st.nll / float64(len(t))
	}
	if math.IsNaN(nll) || math.IsInf(nll, 0) {
		nll = 0
	}
	return append(dst, nll, st.unseen)
}

// fitNeural trains the neural model of each fold, and of all traces, in
// parallel; it appends each training trace's cross-fitted seq.nlm to out
// and returns the model of all traces.
func (s *Sequence) fitNeural(train [][]int32, fold []int, out [][]float64) *nlm {
	k := s.cfg.Folds
	vocab := vocabOf(train)
	models := make([]*nlm, k+1)
	nlls := make([]float64, len(train))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for f := range k + 1 { // fold k: all traces
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			var seqs [][]int32
			for i, t := range train {
				if fold[i] != f {
					seqs = append(seqs, t)
				}
			}
			m := newNLM(*s.cfg.Neural, vocab, s.cfg.Seed+uint64(f))
			m.train(seqs, s.cfg.Seed+uint64(f))
			models[f] = m
			if f == k {
				return
			}
			sc := m.scratch()
			for i, t := range train {
				if fold[i] == f {
					nlls[i] = m.nll(t, sc)
				}
			}
		})
	}
	wg.Wait()
	for i := range out {
		out[i] = append(out[i], nlls[i])
	}
	return models[k]
}
