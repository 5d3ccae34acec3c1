package evaluate

import (
	"context"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"imgward/detect"
	"imgward/detect/pipeline"
	"imgward/detect/trace"
	"imgward/errors"
	"imgward/introspect/dataset"
)

// A Candidate is one configuration that Select compares: a detector and,
// for traces, the sequence models and how they combine.
type Candidate struct {
	Name     string
	Detector string
	Combine  trace.Combine
	Models   []trace.Model
	Order    int
	// CallSet adds the set features of a trace's distinct calls
	// (pipeline.TraceFeatures) to the sequence models' features.
	CallSet bool
	// Recurrent, if not nil, adds the GRU language model's seq.rnn after
	// the models' features (Options.Recurrent, Options.GRU).
	Recurrent *trace.RecurrentConfig
}

// apply returns o configured as c.
func (c Candidate) apply(o Options) Options {
	o.Detector, o.Combine, o.Models, o.Order = c.Detector, c.Combine, c.Models, c.Order
	o.Neural, o.Recurrent, o.GRU = false, c.Recurrent != nil, c.Recurrent
	o.Features = &pipeline.TraceFeatures{CallSet: c.CallSet, Detector: c.Detector}
	return o
}

// Selection is what Select measured and chose.
type Selection struct {
	Folds    int      `json:"folds"`
	Families []string `json:"families"`
	// Candidates holds each candidate's cross-validated AUC per family,
	// in the order compared.
	Candidates []Scored `json:"candidates"`
	// Default is the candidate with the best worst family over all
	// families: the one to ship.
	Default string `json:"default"`
	// Chosen maps each family F to the candidate with the best worst
	// family over the other families: the one selected without F.
	Chosen map[string]string `json:"chosen_without"`
	// Test maps each family F to the test metrics of Chosen[F] on F: the
	// leave-one-family-out figures.
	Test map[string]Metrics `json:"test"`
	// DefaultTest is the test result of Default: pooled and per family.
	DefaultTest *Result `json:"default_test"`
}

// Scored is a candidate's cross-validated AUC per family and its worst.
type Scored struct {
	Name     string             `json:"name"`
	Families map[string]float64 `json:"families"`
	Worst    float64            `json:"worst"`
}

// Select chooses among cands by leave-one-family-out on the --train file:
// it trains on folds of the training rows (normal, matching Where, less
// Holdout) only, scores each anomaly family of the file (o.FamilyCol) on
// its own against the held-out fold, and averages each family's AUC over
// the folds. A candidate is judged by its worst family, never by a pooled
// AUC, so that a default is good on families it was not chosen for.
// Each family's test figure is that of the candidate chosen on the other
// families, on the rows of o.Test that are not training rows.
func Select(ctx context.Context, o Options, cands []Candidate, folds int) (*Selection, error) {
	const op = "eval.Select"
	if err := o.Check(); err != nil {
		return nil, wrap(op, err)
	}
	if o.FamilyCol == "" || len(cands) == 0 || folds < 2 {
		return nil, errors.E(op, errors.Invalid, errors.New("need a family column, candidates and at least 2 folds"))
	}
	train, rows, test, err := split(o)
	if err != nil {
		return nil, wrap(op, err)
	}
	attacks, err := anomalousRows(train, o)
	if err != nil {
		return nil, wrap(op, err)
	}
	sel := &Selection{Folds: folds, Chosen: map[string]string{}}
	for _, c := range cands {
		sc, err := crossValidate(ctx, c.apply(o), train, rows, attacks, folds)
		if err != nil {
			return nil, errors.E(op, errors.Errorf("%s: %w", c.Name, err))
		}
		sc.Name = c.Name
		sel.Candidates = append(sel.Candidates, sc)
	}
	sel.Families = slices.Sorted(maps.Keys(sel.Candidates[0].Families))
	sel.Default = sel.best("")
	for _, f := range sel.Families {
		sel.Chosen[f] = sel.best(f)
	}
	if err := sel.test(ctx, o, cands, train, rows, test); err != nil {
		return nil, wrap(op, err)
	}
	return sel, nil
}

// best returns the candidate whose worst family, leaving out family
// without, is highest; the first one on a tie, so list simpler candidates
// first.
func (s *Selection) best(without string) string {
	name, top := "", math.Inf(-1)
	for _, c := range s.Candidates {
		worst := math.Inf(1)
		for f, auc := range c.Families {
			if f != without {
				worst = min(worst, auc)
			}
		}
		if worst > top {
			name, top = c.Name, worst
		}
	}
	return name
}

// test runs the default and each family's chosen candidate on test.
func (s *Selection) test(ctx context.Context, o Options, cands []Candidate, train *dataset.Table, rows []int, test *dataset.Table) error {
	results := map[string]*Result{}
	resultOf := func(name string) (*Result, error) {
		if r, ok := results[name]; ok {
			return r, nil
		}
		i := slices.IndexFunc(cands, func(c Candidate) bool { return c.Name == name })
		r, err := evalRows(ctx, cands[i].apply(o), train, rows, test)
		results[name] = r
		return r, err
	}
	var err error
	if s.DefaultTest, err = resultOf(s.Default); err != nil {
		return err
	}
	s.Test = map[string]Metrics{}
	for _, f := range s.Families {
		r, err := resultOf(s.Chosen[f])
		if err != nil {
			return err
		}
		m, ok := r.Families[f]
		if !ok {
			return errors.E("eval.Select", errors.Invalid, errors.Errorf("family %q has no test rows", f))
		}
		s.Test[f] = m
	}
	return nil
}

// anomalousRows returns the rows of t that are not labelled normal.
func anomalousRows(t *dataset.Table, o Options) ([]int, error) {
	labels, err := t.Strings(nil, o.LabelCol)
	if err != nil {
		return nil, err
	}
	var rows []int
	for i, l := range labels {
		if l != o.Normal {
			rows = append(rows, i)
		}
	}
	if len(rows) == 0 {
		return nil, errors.E("eval.Select", errors.Invalid,
			errors.Errorf("no anomalous rows in %s: nothing to select by", o.Train))
	}
	return rows, nil
}

// crossValidate splits the training rows into k folds; for each fold, it
// trains on the other folds and scores the fold's rows and every
// anomalous row. It returns each family's AUC against the fold, averaged
// over the folds.
func crossValidate(ctx context.Context, o Options, t *dataset.Table, rows, attacks []int, k int) (Scored, error) {
	if len(rows) < 2*k {
		return Scored{}, errors.E("eval.Select", errors.Invalid,
			errors.Errorf("%d training rows are too few for %d folds", len(rows), k))
	}
	fold := make([]int, len(rows))
	for i := range fold {
		fold[i] = i % k
	}
	rand.New(rand.NewPCG(o.Seed, 0xcf01d)).Shuffle(len(fold), func(i, j int) { fold[i], fold[j] = fold[j], fold[i] })
	o.Fleet = nil
	sum := map[string]float64{}
	for f := range k {
		var fit, held []int
		for i, r := range rows {
			if fold[i] == f {
				held = append(held, r)
			} else {
				fit = append(fit, r)
			}
		}
		res, err := evalRows(ctx, o, t, fit, t.Subset(append(held, attacks...)))
		if err != nil {
			return Scored{}, err
		}
		for fam, m := range res.Families {
			sum[fam] += m.AUC / float64(k)
		}
	}
	sc := Scored{Families: sum, Worst: math.Inf(1)}
	for _, auc := range sum {
		sc.Worst = min(sc.Worst, auc)
	}
	return sc, nil
}

// SequenceCandidates are the trace configurations that `imgward eval
// --protocol loafo` compares, simpler first (the first wins a tie): each
// model alone, then each set of models as separate features of the default
// detector, combined by Min and by Fisher (trace.Combine), and as separate
// features of ECOD, which sums the features' tail probabilities itself.
func SequenceCandidates() []Candidate {
	N, U, F, C, P, K := trace.NLL, trace.Unseen, trace.Frames, trace.Calls, trace.Pairs, trace.Peak
	type set struct {
		order  int
		models []trace.Model
	}
	singles := []set{{6, []trace.Model{U}}, {6, []trace.Model{F}}, {6, []trace.Model{N}}, {10, []trace.Model{N}},
		{6, []trace.Model{C}}, {6, []trace.Model{P}}, {6, []trace.Model{K}}}
	sets := []set{{6, []trace.Model{N, U}}, {6, []trace.Model{N, F}}, {6, []trace.Model{N, C}}, {10, []trace.Model{N, C}},
		{6, []trace.Model{U, C}}, {6, []trace.Model{N, P}}, {6, []trace.Model{C, P}}, {6, []trace.Model{N, C, P}},
		{10, []trace.Model{N, C, P}}, {6, []trace.Model{N, U, C, P}},
		{6, []trace.Model{K, C}}, {6, []trace.Model{N, K, C}}, {6, []trace.Model{N, K, C, P}}, {6, []trace.Model{N, U, K, C, P}}}
	var cs []Candidate
	for _, callSet := range []bool{false, true} {
		for _, st := range singles {
			cs = append(cs, newCandidate(seqDetector, trace.Separate, st.order, st.models, callSet))
		}
		for _, st := range sets {
			for _, c := range []trace.Combine{trace.Separate, trace.Min, trace.Fisher} {
				cs = append(cs, newCandidate(seqDetector, c, st.order, st.models, callSet))
			}
			cs = append(cs, newCandidate("ecod", trace.Separate, st.order, st.models, callSet))
		}
	}
	cs = append(cs, wholeTraceCandidates()...)
	cs = append(cs, recurrentCandidates()...)
	cs = append(cs, coverCandidates()...)
	cs = append(cs, tailCandidates()...)
	cs = append(cs, conditionalCandidates()...)
	return append(cs, serviceGRUCandidates()...)
}

// tailCandidates are the candidates of the detectors that break ECOD's ties
// at the top (issue 9 §5): ECODX, ECOD with extrapolated tails, and
// Copula, the features scored jointly, each on the sets of models at the
// top of the ranking before them and on the single models among those.
func tailCandidates() []Candidate {
	N, U, C, P := trace.NLL, trace.Unseen, trace.Calls, trace.Pairs
	type set struct {
		order  int
		models []trace.Model
	}
	sets := []set{{6, []trace.Model{U}}, {6, []trace.Model{N}}, {10, []trace.Model{N}}, {6, []trace.Model{C}},
		{6, []trace.Model{P}}, {6, []trace.Model{trace.Local}}, {6, []trace.Model{trace.Cover}}, {6, []trace.Model{trace.Match20}},
		{6, []trace.Model{U, C}}, {6, []trace.Model{N, C}}, {10, []trace.Model{N, C}}, {6, []trace.Model{trace.Cover, C}},
		{6, []trace.Model{C, trace.Local}}, {6, []trace.Model{N, C, P}}, {6, []trace.Model{trace.Match20, C}}}
	var cs []Candidate
	for _, det := range []string{"ecodx", "copula"} {
		for _, st := range sets {
			cs = append(cs, newCandidate(det, trace.Separate, st.order, st.models, false))
		}
	}
	return cs
}

// conditionalCandidates are the candidates with the n-gram novelty given
// the nearest trace by calls (trace.CondNLL, trace.CondUnseen): each
// alone, beside seq.calls, and beside seq.calls and the novelty it
// conditions, scored by ECODX as the default is. The residual has no
// setting to choose (trace's conditional), so these are all its
// candidates.
func conditionalCandidates() []Candidate {
	N, U, C, CN, CU := trace.NLL, trace.Unseen, trace.Calls, trace.CondNLL, trace.CondUnseen
	var cs []Candidate
	for _, ms := range [][]trace.Model{{CN}, {CU}, {CN, C}, {CU, C}, {N, C, CN}, {U, C, CU}} {
		cs = append(cs, newCandidate("ecodx", trace.Separate, 6, ms, false))
	}
	return cs
}

// recurrentCandidates are the candidates with a GRU language model
// (seq.rnn): alone and beside the best sets of the count models. The
// service's GRU (trace.RecurrentConfig's defaults) would cost about 30
// times the training of the other candidates (3 GRUs per fold of the
// selection: an hour for a few candidates on the shared machine), so these
// use a smaller one, candidateGRU, and are few and last.
func recurrentCandidates() []Candidate {
	N, C, P := trace.NLL, trace.Calls, trace.Pairs
	type cand struct {
		det string
		ms  []trace.Model
	}
	var cs []Candidate
	for _, x := range []cand{{seqDetector, []trace.Model{}},
		{"ecod", []trace.Model{N, C}}, {"ecod", []trace.Model{N, C, P}}} {
		cs = append(cs, withGRU(x.det, x.ms, rnnModel, candidateGRU))
	}
	return cs
}

// withGRU returns the candidate of the models ms and the GRU configured as
// gru, scored by det, named with the GRU as one more model called name:
// rnn16, sep(nll6,calls,rnn16)/ecod.
func withGRU(det string, ms []trace.Model, name trace.Model, gru trace.RecurrentConfig) Candidate {
	c := newCandidate(det, trace.Separate, 6, append(slices.Clip(ms), name), false)
	c.Models, c.Recurrent = ms, &gru
	return c
}

// serviceGRUCandidates are the candidates with --recurrent's GRU
// (trace.RecurrentConfig's defaults: 32 units, 4 epochs, 2 folds of
// cross-fitting), named rnn: beside the default's models and in place of
// the n-gram model, scored by ECODX as the default is. Each costs 3 GRU
// trainings per fold of the selection (about 2.5 processor-minutes on
// ADFA-LD, where one of count models takes seconds), so there are two, and
// they come last.
func serviceGRUCandidates() []Candidate {
	N, C := trace.NLL, trace.Calls
	return []Candidate{
		withGRU("ecodx", []trace.Model{N, C}, serviceRNN, trace.RecurrentConfig{}),
		withGRU("ecodx", []trace.Model{C}, serviceRNN, trace.RecurrentConfig{}),
	}
}

// serviceRNN names --recurrent's GRU among a candidate's models.
const serviceRNN trace.Model = "rnn"

// candidateGRU is the GRU of the selection's candidates: 16 units
// trained 2 epochs, about a quarter of the default's training, with the
// default's 2 folds of cross-fitting.
var candidateGRU = trace.RecurrentConfig{Hidden: 16, Epochs: 2}

// rnnModel names seq.rnn among a candidate's models, for its name only:
// the GRU is not a trace.Model but SequenceConfig.Recurrent.
const rnnModel trace.Model = "rnn16"

// wholeTraceCandidates are the candidates with the models of this round:
// those of a trace as a whole (trace.Shape, trace.Length, trace.Loops) and
// the n-gram model of a trace's program (trace.Local), each alone and
// beside the best sets of the other models (the local model also in place
// of the global one), combined as the others are. They have no +set
// variants: the set features lowered every one of the 46 configurations
// measured both ways but the two weakest (docs/EVALUATION.md).
func wholeTraceCandidates() []Candidate {
	N, C, P, L := trace.NLL, trace.Calls, trace.Pairs, trace.Local
	news := []trace.Model{trace.Shape, trace.Length, trace.Loops, L}
	var cs []Candidate
	for _, w := range news {
		cs = append(cs, newCandidate(seqDetector, trace.Separate, 6, []trace.Model{w}, false))
	}
	for _, w := range news {
		sets := [][]trace.Model{{N, C, w}, {N, C, P, w}}
		if w == L {
			sets = append(sets, []trace.Model{C, L}, []trace.Model{C, P, L})
		}
		for _, ms := range sets {
			for _, c := range []trace.Combine{trace.Separate, trace.Min, trace.Fisher} {
				cs = append(cs, newCandidate(seqDetector, c, 6, ms, false))
			}
			cs = append(cs, newCandidate("ecod", trace.Separate, 6, ms, false))
		}
	}
	return cs
}

// coverCandidates are the candidates with the sequence-covering models
// (trace.Cover, trace.CoverNear, trace.Match10, trace.Match20,
// trace.MatchLow): each alone, and beside the nearest trace by calls, STIDE
// and the n-gram NLL (the models of the default and of the best-ranked
// candidates), combined as the others are. No +set variants, as for
// wholeTraceCandidates.
func coverCandidates() []Candidate {
	N, U, C := trace.NLL, trace.Unseen, trace.Calls
	news := []trace.Model{trace.Cover, trace.CoverNear, trace.Match10, trace.Match20, trace.MatchLow}
	var cs []Candidate
	for _, w := range news {
		cs = append(cs, newCandidate(seqDetector, trace.Separate, 6, []trace.Model{w}, false))
	}
	for _, w := range news {
		for _, ms := range [][]trace.Model{{w, C}, {U, w}, {N, w}, {U, C, w}, {N, C, w}} {
			for _, c := range []trace.Combine{trace.Separate, trace.Min, trace.Fisher} {
				cs = append(cs, newCandidate(seqDetector, c, 6, ms, false))
			}
			cs = append(cs, newCandidate("ecod", trace.Separate, 6, ms, false))
		}
	}
	return cs
}

// seqDetector is the detector of the sequence candidates whose names do
// not name one: the ensemble, the default detector when they were first
// compared, so that a name keeps its meaning whatever detect.DefaultName.
const seqDetector = "ensemble"

// newCandidate returns a sequence candidate named for what it is, such as
// fisher(nll6,calls), sep(nll6,calls)/ecod or sep(nll6,calls)+set/ecod (with
// the set features of the trace's calls); seqDetector is not named.
func newCandidate(det string, c trace.Combine, order int, ms []trace.Model, callSet bool) Candidate {
	var names []string
	for _, m := range ms {
		name := string(m)
		switch m {
		case trace.NLL, trace.Unseen, trace.Frames, trace.Peak, trace.Local, trace.CondNLL, trace.CondUnseen:
			name += strconv.Itoa(order)
		}
		names = append(names, name)
	}
	name := strings.Join(names, ",")
	if len(ms) > 1 {
		name = c.String() + "(" + name + ")"
	}
	if callSet {
		name += "+set"
	}
	if det != seqDetector {
		name += "/" + det
	}
	return Candidate{Name: name, Detector: det, Combine: c, Models: ms, Order: order, CallSet: callSet}
}

// DetectorCandidates are the detectors compared on numeric features.
func DetectorCandidates() []Candidate {
	var cs []Candidate
	for _, d := range detect.Names() {
		cs = append(cs, Candidate{Name: d, Detector: d})
	}
	return cs
}
