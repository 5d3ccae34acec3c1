package trace

import (
	"fmt"
	"math"
	"slices"
	"strings"

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
	// Recurrent, if not nil, adds the feature seq.rnn: the mean negative
	// log-likelihood of each element under a recurrent (GRU) language model
	// of the training traces (see RecurrentConfig).
	Recurrent *RecurrentConfig
	// Combine says how the models' scores become features: one feature
	// per model for the detectors to combine (Separate, the default), or
	// one, seq.novelty (Min, Fisher).
	Combine Combine
	// Models are the models whose scores are the features, or enter the
	// consensus, in that order after the n-gram ones; nil means
	// DefaultModels. Neural and Recurrent add theirs after these.
	Models []Model
}

// Model names a model of the training traces whose score of a trace is a
// sequence feature, or a member of the consensus.
type Model string

// The models. The first three are read off the n-gram model in one pass.
const (
	// NLL is seq.nll: the mean negative log-likelihood of each element
	// under the n-gram model.
	NLL Model = "nll"
	// Unseen is seq.unseenN, N = Order: the fraction of the trace's
	// N-grams never seen in training, the STIDE score (Forrest et al., 1996).
	Unseen Model = "unseen"
	// Frames is seq.lfcN: the locality frame count of unseen N-grams, the
	// most of them among any 20 successive ones, divided by 20 (Hofmeyr et
	// al., 1998).
	Frames Model = "lfc"
	// Peak is seq.peak: the highest mean negative log-likelihood of any
	// 20 successive elements under the n-gram model, the most surprising
	// stretch of the trace.
	Peak Model = "peak"
	// Calls is seq.calls: 1 minus the cosine similarity of the trace's set
	// of distinct elements to that of the most similar training trace.
	Calls Model = "calls"
	// Pairs is seq.pairs: the same for log(1 + count) of each pair of
	// successive elements.
	Pairs Model = "pairs"
	// Shape is seq.shape: how far the trace's properties as a whole (its
	// length and repetition structure, shapeOf) are from those of the
	// training traces most like it by set of calls.
	Shape Model = "shape"
	// Length is seq.length: the same for its length alone.
	Length Model = "length"
	// Loops is seq.loops: how far its repetition structure is from that
	// of the nearest training trace by that structure.
	Loops Model = "loops"
	// Local is seq.local: the mean negative log-likelihood of each element
	// under an n-gram model of the training traces most like the trace by
	// set of calls, a baseline of its program.
	Local Model = "local"
	// Cover is seq.cover: the number of segments of the greedy covering
	// of the trace by contiguous subsequences of the training traces, per
	// call (sequence covering, Marteau 2019).
	Cover Model = "cover"
	// CoverNear is seq.covnear: the same against the training traces
	// most like the trace by set of calls, the runs of its program.
	CoverNear Model = "covnear"
	// Match10 is seq.match10: 1 minus the mean length, capped at 10 and
	// divided by 10, of the longest subsequence of a training trace that
	// ends at each call (its matching statistics).
	Match10 Model = "match10"
	// Match20 is seq.match20: the same capped at 20.
	Match20 Model = "match20"
	// MatchLow is seq.matchlow: the same, capped at 20, for the lowest
	// tenth of the matches, the trace's least familiar stretches.
	MatchLow Model = "matchlow"
	// CondNLL is seq.cnll: seq.nll's standardised residual given
	// seq.calls, fitted on the cross-fitted training traces (conditional):
	// how much more novel the trace is to the n-gram model than training
	// traces as far from every other by set of calls.
	CondNLL Model = "cnll"
	// CondUnseen is seq.cunseenN: the same for STIDE's seq.unseenN.
	CondUnseen Model = "cunseen"
)

// ngramModels are the models read off the n-gram model.
var ngramModels = []Model{NLL, Unseen, Frames, Peak, CondNLL, CondUnseen}

// nearestModels map the nearest-trace models to what they compare.
var nearestModels = map[Model]profileKind{Calls: repertoire, Pairs: transitions}

// shapeModels map the models of a trace as a whole to what they compare.
var shapeModels = map[Model]shapeKind{Shape: byCallsShape, Length: byCallsLength, Loops: loopShape}

// coverModels map the sequence-covering models to what they measure.
var coverModels = map[Model]coverKind{Cover: coverSegments, CoverNear: coverNear,
	Match10: matchMean10, Match20: matchMean20, MatchLow: matchLow}

// known reports whether m is a model Sequence knows.
func known(m Model) bool {
	_, near := nearestModels[m]
	_, whole := shapeModels[m]
	_, covers := coverModels[m]
	return near || whole || covers || m == Local || slices.Contains(ngramModels, m)
}

// Sequence turns traces into features that say how novel a trace is with
// respect to the normal traces it was fitted on. The models of the training
// traces that SequenceConfig.Models names each score a trace:
//
//   - seq.nll: the mean negative log-likelihood of each element given the
//     Order-1 elements before it, under an n-gram model of the training
//     traces smoothed by Witten-Bell interpolation of all shorter orders,
//     the n-gram counterpart of the LSTM language models of the
//     literature (Kim et al., 2016);
//   - seq.unseenN: the fraction of the trace's N-grams never seen, STIDE;
//   - seq.lfcN: the locality frame count of unseen N-grams;
//   - seq.peak: the highest mean negative log-likelihood of any 20
//     successive elements, the most surprising stretch;
//   - seq.calls: how unlike the trace's set of distinct elements (for
//     system calls, its repertoire) is to that of the most similar
//     training trace, 1 minus their cosine similarity;
//   - seq.pairs: the same for log(1 + count) of each pair of successive
//     elements;
//   - seq.shape, seq.length, seq.loops: how unusual the trace is as a
//     whole, its length and how it repeats itself, for a trace of its
//     calls (shape, length) or for any trace (loops);
//   - seq.local: the mean negative log-likelihood of each element under
//     an n-gram model of the training traces most like the trace by set
//     of calls, a model of its program rather than of all;
//   - seq.cover, seq.covnear, seq.match10, seq.match20, seq.matchlow: how
//     the trace is covered by contiguous subsequences of any length of the
//     training traces (of all, or of its program's for seq.covnear): the
//     number of segments of the greedy covering per call, or how short the
//     longest match ending at each call is (sequence covering, Marteau
//     2019);
//   - seq.nlm, if Neural is set: the mean negative log-likelihood of each
//     element under a feed-forward neural language model of the training
//     traces (Bengio et al., 2003), which generalizes across contexts
//     through learned embeddings where a count model only sees unseen
//     n-grams. The models of the folds train in parallel;
//   - seq.rnn, if Recurrent is set: the same under a recurrent (GRU)
//     language model, whose state summarises the whole trace so far, as
//     the LSTM models of Kim et al. (2016).
//
// By default each model's score is a feature for the detectors to combine
// (the ensemble averages its members' standardised scores). A language
// model and a nearest-trace model look at a trace differently, the first
// call by call, the second as a whole, and need not both be fooled.
//
// With Combine set to Min or Fisher, the one feature is seq.novelty, a
// combination of the models' scores (see Combine).
//
// A detector, and the consensus, must learn how novel normal traces are,
// but a trace is never novel to a model trained on it. Fit therefore
// returns the training traces' features by cross-fitting: each fold's
// traces are scored by a model of the other folds. Other traces are scored
// by the model of all training traces.
//
// The features only ever signal by being high: a trace more familiar than
// the typical (median) normal trace is no more normal for it. Features are
// therefore floored at the median of the cross-fitted training features, so
// that detectors that look at both tails do not flag the familiar.
type Sequence struct {
	cfg   SequenceConfig
	ms    []Model // the models in use (resolveModels)
	model *ngramModel
	lms   []languageModel // seq.calls, seq.pairs, seq.nlm, seq.rnn: those in use
	// The combination: each model's median and scale (Min), or its
	// sorted scores (Fisher), over the cross-fitted training traces.
	center, scale []float64
	sorted        [][]float64
	floor         []float64
	conds         []condFeature // seq.cnll, seq.cunseenN: those in use
}

// NewSequence returns an unfitted sequence featurizer.
func NewSequence(c SequenceConfig) *Sequence {
	if c.Order <= 0 {
		c.Order = 6
	}
	c.Order = min(c.Order, MaxOrder)
	if c.Folds <= 0 {
		c.Folds = 5
	}
	return &Sequence{cfg: c, ms: resolveModels(c)}
}

// Names returns the names of the features, in order.
func (s *Sequence) Names() []string {
	if s.cfg.Combine != Separate {
		return []string{"seq.novelty"}
	}
	var names []string
	for _, m := range s.models() {
		switch m {
		case Unseen, Frames, CondUnseen:
			names = append(names, fmt.Sprintf("seq.%s%d", m, s.cfg.Order))
		default:
			names = append(names, "seq."+string(m))
		}
	}
	if s.cfg.Neural != nil {
		names = append(names, "seq.nlm")
	}
	if s.cfg.Recurrent != nil {
		names = append(names, "seq.rnn")
	}
	return names
}

// models returns the models in use, computed once by NewSequence.
func (s *Sequence) models() []Model { return s.ms }

// DefaultModels are the models of a zero SequenceConfig: the n-gram NLL
// and STIDE (order 6) and the nearest training trace by its set of calls
// and by its pairs of calls, as separate features. It was the service's
// default until the selection of docs/EVALUATION.md chose the NLL and the
// calls alone (pipeline.DefaultSequence, which names its models); the
// baselines recorded with a zero configuration refit with these models,
// so they must not change.
func DefaultModels() []Model { return []Model{NLL, Unseen, Calls, Pairs} }

// ParseModels parses a comma-separated list of model names, as the
// --models flag of imgward eval takes them; an unknown name is an error of
// kind Invalid.
func ParseModels(list string) ([]Model, error) {
	var ms []Model
	for _, name := range strings.Split(list, ",") {
		m := Model(strings.TrimSpace(name))
		if !known(m) {
			return nil, errors.E("trace.ParseModels", errors.Invalid,
				errors.Errorf("unknown sequence model %q (known: nll, unseen, lfc, peak, calls, pairs, shape, length, loops, local, cover, covnear, match10, match20, matchlow, cnll, cunseen)", m))
		}
		ms = append(ms, m)
	}
	return ms, nil
}

// resolveModels returns the models of c.Models or their default, the
// n-gram models first, each once.
func resolveModels(c SequenceConfig) []Model {
	ms := c.Models
	if ms == nil {
		ms = DefaultModels()
	}
	var out []Model
	for _, m := range ms { // n-gram models, then the others, in their order
		if slices.Contains(ngramModels, m) && !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	for _, m := range ms {
		if !slices.Contains(ngramModels, m) && !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

// checkModels reports an unknown model, or no model at all, as an error of
// kind Invalid.
func (s *Sequence) checkModels() error {
	ms := s.models()
	for _, m := range ms {
		if !known(m) {
			return errors.E("trace.Sequence.Fit", errors.Invalid, errors.Errorf("unknown model %q", m))
		}
	}
	if len(ms) == 0 && s.cfg.Neural == nil && s.cfg.Recurrent == nil {
		return errors.E("trace.Sequence.Fit", errors.Invalid, errors.New("no sequence model"))
	}
	return nil
}

// Fit learns the normal traces and returns their cross-fitted features. It
// needs at least Folds traces (and Folds >= 2), else it is an error of kind
// Invalid.
func (s *Sequence) Fit(train [][]int32) ([][]float64, error) {
	if err := s.checkModels(); err != nil {
		return nil, err
	}
	k := s.cfg.Folds
	if len(train) < k || k < 2 {
		return nil, errors.E("trace.Sequence.Fit", errors.Invalid,
			errors.Errorf("%d training traces; need at least %d (and 2 folds)", len(train), max(k, 2)))
	}
	fold := folds(len(train), k, s.cfg.Seed)
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
				out[i] = s.raw(m, t, &st, make([]float64, 0, len(s.ms)))
			}
		}
	}
	s.fitLanguageModels(train, fold, out)
	s.fitConditionals(out)
	for i, x := range out {
		out[i] = s.condition(x)
	}
	if s.cfg.Combine != Separate {
		s.fitCombination(out)
		for i, x := range out {
			out[i] = append(x[:0], s.combine(x))
		}
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
	X := [][]float64{dst}
	s.AppendFeatures([][]int32{t}, X)
	return X[0]
}

// AppendFeatures appends the features of each trace ts[i] to dst[i]. It
// scores several traces side by side, so it is faster than Features one
// trace at a time. It is safe for concurrent use and panics if the
// featurizer is not fitted.
func (s *Sequence) AppendFeatures(ts [][]int32, dst [][]float64) {
	if s.model == nil {
		panic("dataset: Sequence.Features before Fit")
	}
	raw := make([][]float64, len(ts))
	var st seqStats
	for i, t := range ts {
		raw[i] = s.raw(s.model, t, &st, make([]float64, 0, len(s.ms)+2))
	}
	scores := make([]float64, len(ts))
	for _, lm := range s.lms {
		lm.scores(ts, scores)
		for i, v := range scores {
			raw[i] = append(raw[i], v)
		}
	}
	for i, x := range raw {
		x = s.condition(x)
		n := len(dst[i])
		if s.cfg.Combine != Separate {
			dst[i] = append(dst[i], s.combine(x))
		} else {
			dst[i] = append(dst[i], x...)
		}
		for j, f := range s.floor {
			dst[i][n+j] = max(dst[i][n+j], f)
		}
	}
}

// raw appends the unfloored n-gram features of t under model m.
func (s *Sequence) raw(m *ngramModel, t []int32, st *seqStats, dst []float64) []float64 {
	m.stats(t, st)
	for _, md := range s.models() {
		switch md {
		case NLL, CondNLL: // the residual replaces the latter's in condition
			nll := 0.0
			if len(t) > 0 {
				nll = st.nll / float64(len(t))
			}
			if math.IsNaN(nll) || math.IsInf(nll, 0) {
				nll = 0
			}
			dst = append(dst, nll)
		case Unseen, CondUnseen:
			dst = append(dst, st.unseen)
		case Frames:
			dst = append(dst, st.frames)
		case Peak:
			dst = append(dst, st.peak)
		}
	}
	return dst
}
