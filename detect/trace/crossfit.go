package trace

import (
	"math/rand/v2"
	"runtime"
	"sync"
)

// languageModel is a model of traces that Sequence trains on the training
// traces of each fold: nearest, nlm or rnn.
type languageModel interface {
	train(seqs [][]int32, seed uint64)
	// scores sets out[i] to the novelty of seqs[i]: for the language
	// models, the mean negative log-likelihood of its elements. It is safe
	// for concurrent use.
	scores(seqs [][]int32, out []float64)
}

// folds assigns n items to k folds of sizes differing by at most one, in an
// order shuffled by seed.
func folds(n, k int, seed uint64) []int {
	fold := make([]int, n)
	for i := range fold {
		fold[i] = i % k
	}
	rng := rand.New(rand.NewPCG(seed, 0x5e9))
	rng.Shuffle(len(fold), func(i, j int) { fold[i], fold[j] = fold[j], fold[i] })
	return fold
}

// fitLanguageModels cross-fits the models other than the n-gram model: for each
// one, it appends each training trace's score under the model of the other
// folds to out, and keeps the model of all traces in s.lms. A model with
// its own number of folds gets its own assignment of traces to folds.
func (s *Sequence) fitLanguageModels(train [][]int32, fold []int, out [][]float64) {
	vocab := vocabOf(train)
	type maker struct {
		folds    int
		newModel func(f int) languageModel
	}
	var makers []maker
	for _, m := range s.models() {
		if k, ok := nearestModels[m]; ok {
			makers = append(makers, maker{s.cfg.Folds, func(int) languageModel { return newNearest(k) }})
		}
		if k, ok := shapeModels[m]; ok {
			makers = append(makers, maker{s.cfg.Folds, func(int) languageModel { return newShape(k) }})
		}
		if k, ok := coverModels[m]; ok {
			makers = append(makers, maker{s.cfg.Folds, func(int) languageModel { return newCover(k) }})
		}
		if m == Local {
			makers = append(makers, maker{s.cfg.Folds, func(int) languageModel { return newLocal(s.cfg.Order) }})
		}
	}
	if c := s.cfg.Neural; c != nil {
		makers = append(makers, maker{s.cfg.Folds, func(f int) languageModel { return newNLM(*c, vocab, s.cfg.Seed+uint64(f)) }})
	}
	if c := s.cfg.Recurrent; c != nil {
		rc := *c
		rc.defaults()
		makers = append(makers, maker{rc.Folds, func(f int) languageModel { return newRNN(rc, vocab, s.cfg.Seed+uint64(f)) }})
	}
	if s.hiddenCalls() {
		// The conditions' seq.calls, last and dropped by condition.
		makers = append(makers, maker{s.cfg.Folds, func(int) languageModel { return newNearest(repertoire) }})
	}
	s.lms = nil
	for _, mk := range makers {
		fd := fold
		if mk.folds != s.cfg.Folds {
			fd = folds(len(train), mk.folds, s.cfg.Seed)
		}
		m, scores := crossFit(train, fd, mk.folds, s.cfg.Seed, mk.newModel)
		s.lms = append(s.lms, m)
		for i := range out {
			out[i] = append(out[i], scores[i])
		}
	}
}

// crossFit trains the model of each of the k folds, and of all traces (fold
// k), on GOMAXPROCS goroutines. It returns the model of all traces and each
// training trace's score under the model of its fold.
func crossFit(train [][]int32, fold []int, k int, seed uint64, newModel func(f int) languageModel) (languageModel, []float64) {
	models := make([]languageModel, k+1)
	scores := make([]float64, len(train))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for f := range k + 1 {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			var fit, held [][]int32
			var at []int
			for i, t := range train {
				if fold[i] != f {
					fit = append(fit, t)
				} else {
					held, at = append(held, t), append(at, i)
				}
			}
			m := newModel(f)
			m.train(fit, seed+uint64(f))
			models[f] = m
			out := make([]float64, len(held))
			m.scores(held, out)
			for j, i := range at {
				scores[i] = out[j]
			}
		})
	}
	wg.Wait()
	return models[k], scores
}

// positive sets *p to v unless it is positive: the defaults of the
// networks' configurations.
func positive[T int | float64](p *T, v T) {
	if *p <= 0 {
		*p = v
	}
}
