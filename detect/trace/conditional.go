package trace

import (
	"cmp"
	"math"
	"slices"
)

// A conditional is a fit of a feature y as a function of a condition x,
// from which it gives y's standardised residual given x: how much more
// novel a trace is to one model than traces as unlike the training traces
// on the other usually are.
//
// Why: on ADFA-LD an attack inside a known program is far mainly on the
// n-gram novelty, while a normal run of a program absent from training is
// far on both the n-gram novelty and the distance to the nearest training
// trace by set of calls (seq.calls); a detector that scores the two
// independently ranks such normal runs with the attacks
// (docs/EVALUATION.md, "What limits ADFA-LD"). The residual of the
// novelty given seq.calls stays low for the first and high for the
// second.
//
// The fit has no setting to tune: the training pairs, sorted by x, fall in
// ⌈√n⌉ bins of about equal counts (a bin never splits equal x, so the
// many traces at one value share a bin); each bin gives the median of its
// x, and the median of its y and its spread as robustLocScale measures
// them (1.4826 times the median absolute deviation, a normal's standard
// deviation). The bins' medians of y are made
// non-decreasing in x by isotonic regression weighted by the bins' counts
// (a trace less like every training trace is not expected to be more
// familiar to the n-gram model; the monotone fit also evens out a noisy
// bin). At a new x both are interpolated linearly between the bins' x and
// held flat beyond the first and last. A bin's spread is at least a tenth
// of the spread of all y, so that a bin of near-equal y does not blow a
// small difference up.
type conditional struct {
	xs, mid, spread []float64 // per bin, xs strictly increasing
}

// fitConditional fits y as a function of x; x and y have equal lengths,
// at least 1, and finite values.
func fitConditional(x, y []float64) conditional {
	n := len(x)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(x[a], x[b]) })
	nbins := int(math.Ceil(math.Sqrt(float64(n))))
	size := (n + nbins - 1) / nbins
	_, all := robustLocScale(gather(y, idx))
	floor := 0.1 * all
	var c conditional
	var counts []float64
	for lo := 0; lo < n; {
		hi := min(lo+size, n)
		for hi < n && x[idx[hi]] == x[idx[hi-1]] {
			hi++ // a bin never splits equal x
		}
		if n-hi < size/2 {
			hi = n // a short remainder joins the last bin
		}
		bin := idx[lo:hi]
		cx, _ := robustLocScale(gather(x, bin))
		mid, spread := robustLocScale(gather(y, bin))
		c.xs = append(c.xs, cx)
		c.mid = append(c.mid, mid)
		c.spread = append(c.spread, max(spread, floor))
		counts = append(counts, float64(len(bin)))
		lo = hi
	}
	isotonic(c.mid, counts)
	return c
}

// residual returns (y - m(x)) / s(x), with m and s the fitted medians and
// spreads interpolated at x.
func (c conditional) residual(x, y float64) float64 {
	m, s := c.at(x)
	return (y - m) / s
}

// at returns the fitted median and spread at x: linear between the bins'
// x, flat beyond the ends.
func (c conditional) at(x float64) (mid, spread float64) {
	n := len(c.xs)
	i, _ := slices.BinarySearch(c.xs, x) // c.xs[i-1] < x <= c.xs[i]
	switch {
	case i == 0 || x != x:
		return c.mid[0], c.spread[0]
	case i == n:
		return c.mid[n-1], c.spread[n-1]
	}
	t := (x - c.xs[i-1]) / (c.xs[i] - c.xs[i-1])
	return c.mid[i-1] + t*(c.mid[i]-c.mid[i-1]), c.spread[i-1] + t*(c.spread[i]-c.spread[i-1])
}

// isotonic replaces v by its non-decreasing least-squares fit with
// weights w (pool adjacent violators).
func isotonic(v, w []float64) {
	type block struct {
		sum, w float64
		n      int
	}
	var bs []block
	for i := range v {
		bs = append(bs, block{v[i] * w[i], w[i], 1})
		for len(bs) > 1 {
			a, b := bs[len(bs)-2], bs[len(bs)-1]
			if a.sum/a.w <= b.sum/b.w {
				break
			}
			bs = append(bs[:len(bs)-2], block{a.sum + b.sum, a.w + b.w, a.n + b.n})
		}
	}
	i := 0
	for _, b := range bs {
		for range b.n {
			v[i] = b.sum / b.w
			i++
		}
	}
}

// gather returns v at the indices idx.
func gather(v []float64, idx []int) []float64 {
	out := make([]float64, len(idx))
	for i, j := range idx {
		out[i] = v[j]
	}
	return out
}

// A condFeature is a conditional model's feature: the column of its
// model's score among a trace's raw scores, and the fit of that score
// given seq.calls.
type condFeature struct {
	col int
	fit conditional
}

// conditionals maps the conditional models to their columns: those read
// off the n-gram model, at their places among the models.
func (s *Sequence) conditionals() []int {
	var cols []int
	for j, m := range s.models() {
		if m == CondNLL || m == CondUnseen {
			cols = append(cols, j)
		}
	}
	return cols
}

// hiddenCalls reports whether the conditional models need seq.calls that
// is not one of the features: then fitLanguageModels adds it after the
// others, and condition drops it.
func (s *Sequence) hiddenCalls() bool {
	ms := s.models()
	return (slices.Contains(ms, CondNLL) || slices.Contains(ms, CondUnseen)) && !slices.Contains(ms, Calls)
}

// callsColumn returns the column of seq.calls among a trace's raw scores:
// each model's score is at the model's place (the n-gram models first,
// then the others in order, as resolveModels orders them, then seq.nlm and
// seq.rnn), and a hidden seq.calls last.
func (s *Sequence) callsColumn(width int) int {
	if j := slices.Index(s.models(), Calls); j >= 0 {
		return j
	}
	return width - 1
}

// fitConditionals fits each conditional model's score given seq.calls on
// the cross-fitted raw scores of the training traces, one row per trace.
func (s *Sequence) fitConditionals(rows [][]float64) {
	s.conds = nil
	cols := s.conditionals()
	if len(cols) == 0 {
		return
	}
	c := s.callsColumn(len(rows[0]))
	x, y := make([]float64, len(rows)), make([]float64, len(rows))
	for _, j := range cols {
		for i, r := range rows {
			x[i], y[i] = r[c], r[j]
		}
		s.conds = append(s.conds, condFeature{col: j, fit: fitConditional(x, y)})
	}
}

// condition replaces, in a trace's raw scores x, each conditional model's
// score by its residual given seq.calls, and drops a hidden seq.calls. It
// returns x, changed in place.
func (s *Sequence) condition(x []float64) []float64 {
	if len(s.conds) == 0 {
		return x
	}
	c := s.callsColumn(len(x))
	for _, f := range s.conds {
		x[f.col] = f.fit.residual(x[c], x[f.col])
	}
	if s.hiddenCalls() {
		x = x[:len(x)-1]
	}
	return x
}
