package trace

import "math"

// ngramModel counts the n-grams of orders 1..order of a set of sequences
// and estimates the probability of each next element by Witten-Bell
// interpolation of the orders (Witten and Bell, 1991): an n-gram model
// that backs off to shorter contexts in proportion to how many different
// elements a context has been seen to precede.
//
// n-grams are keyed by a 64-bit hash of their elements, so that any integer
// alphabet works and memory grows with the distinct n-grams of the
// training data only.
type ngramModel struct {
	order int
	grams map[uint64]uint32  // n-gram → count, all orders
	ctx   map[uint64]ctxStat // n-gram as a context → what followed it
	unigr map[int32]uint32   // element → count
	total float64            // elements seen
	vocab float64            // distinct elements seen
	// prior, if not nil, smooths the unigram probabilities toward another
	// model's, with the weight of priorW elements, in place of add-one:
	// for a model of few traces (local), whose unigrams alone would
	// give every call those traces lack the same tiny probability.
	prior  *unigramPrior
	priorW float64
}

// unigramPrior is the add-one unigram distribution of a model.
type unigramPrior struct {
	p      map[int32]float64
	unseen float64 // the probability of an element the model never saw
}

// unigrams returns m's add-one unigram distribution.
func (m *ngramModel) unigrams() *unigramPrior {
	d := m.total + m.vocab + 1
	u := &unigramPrior{p: make(map[int32]float64, len(m.unigr)), unseen: 1 / d}
	for v, c := range m.unigr {
		u.p[v] = (float64(c) + 1) / d
	}
	return u
}

// unigram returns the probability of v before the longer contexts.
func (m *ngramModel) unigram(v int32) float64 {
	if m.prior == nil {
		return (float64(m.unigr[v]) + 1) / (m.total + m.vocab + 1)
	}
	q, ok := m.prior.p[v]
	if !ok {
		q = m.prior.unseen
	}
	return (float64(m.unigr[v]) + m.priorW*q) / (m.total + m.priorW)
}

// ctxStat counts what followed a context: how many times, and how many
// distinct elements.
type ctxStat struct{ follow, types uint32 }

func newNgramModel(order int) *ngramModel {
	return &ngramModel{
		order: order,
		grams: make(map[uint64]uint32),
		ctx:   make(map[uint64]ctxStat),
		unigr: make(map[int32]uint32),
	}
}

// mix folds element v into hash h (a SplitMix64-style finaliser of h^v).
func mix(h uint64, v int32) uint64 {
	h ^= uint64(uint32(v)) + 0x9e3779b97f4a7c15
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	return h ^ h>>31
}

// gramHashes fills cur with the hashes of the n-grams of orders 1..len(cur)
// that end at position t of seq (fewer near the start); it returns how
// many it filled.
func gramHashes(seq []int32, t int, cur []uint64) int {
	n := min(len(cur), t+1)
	h := uint64(0x243f6a8885a308d3)
	for k := range n {
		h = mix(h, seq[t-k])
		cur[k] = h
	}
	return n
}

// add counts the n-grams of seq.
func (m *ngramModel) add(seq []int32) {
	prev := make([]uint64, m.order)
	cur := make([]uint64, m.order)
	np := 0
	for t, v := range seq {
		n := gramHashes(seq, t, cur)
		if m.unigr[v] == 0 {
			m.vocab++
		}
		m.unigr[v]++
		m.total++
		for k := 1; k < n; k++ { // the context of the (k+1)-gram is the k-gram ending at t-1
			if k > np {
				break
			}
			c := m.ctx[prev[k-1]]
			c.follow++
			if m.grams[cur[k]] == 0 {
				c.types++
			}
			m.ctx[prev[k-1]] = c
		}
		for k := range n {
			m.grams[cur[k]]++
		}
		prev, cur, np = cur, prev, n
	}
}

// seqStats is what a model sees in one sequence.
type seqStats struct {
	nll    float64 // sum over elements of -log P(element | the order-1 before it)
	unseen float64 // fraction of the sequence's order-grams never seen
	// frames is the locality frame count (Hofmeyr, Forrest and Somayaji,
	// 1998): the most unseen order-grams among any frameLen successive
	// ones, divided by frameLen.
	frames float64
	// peak is the highest mean of -log P over any frameLen successive
	// elements (over the whole sequence if shorter): the surprise of the
	// most surprising stretch, which a mean over a long trace dilutes.
	peak float64
}

// frameLen is the length of a locality frame, in n-grams: Hofmeyr et al.'s
// 20. A burst of novel n-grams is what an exploit leaves; the same number
// spread over a long normal trace is a program's rare paths.
const frameLen = 20

// MaxOrder bounds the n-gram order, so that scratch space fits the stack.
const MaxOrder = 32

// stats computes the statistics of seq. Once an n-gram ending at t is
// unseen, so are all longer ones, and once a context is unseen it has no
// successors: lookups stop there, so novel stretches cost less.
func (m *ngramModel) stats(seq []int32, s *seqStats) {
	var bufA, bufB [MaxOrder]uint64
	var cnt [MaxOrder]uint32
	cur, prev := bufA[:m.order], bufB[:m.order]
	*s = seqStats{}
	prevSeen, windows, unseen := 0, 0, 0
	var frame [frameLen]bool // whether each of the last frameLen windows was unseen
	inFrame, maxFrame := 0, 0
	var last [frameLen]float64 // -log P of the last frameLen elements
	inLast := 0.0
	for t, v := range seq {
		n := gramHashes(seq, t, cur)
		seen := 0
		for k := range n {
			c := m.grams[cur[k]]
			if c == 0 {
				break
			}
			cnt[k], seen = c, k+1
		}
		p := m.unigram(v)
		for k := 1; k < n && k <= prevSeen; k++ {
			c := m.ctx[prev[k-1]]
			if c.follow == 0 {
				break
			}
			g := 0.0
			if k < seen {
				g = float64(cnt[k])
			}
			p = (g + float64(c.types)*p) / float64(c.follow+c.types)
		}
		nll := -math.Log(p)
		s.nll += nll
		inLast += nll - last[t%frameLen]
		last[t%frameLen] = nll
		if t+1 >= frameLen {
			s.peak = max(s.peak, inLast/frameLen)
		}
		if n == m.order {
			miss := seen < m.order
			if frame[windows%frameLen] {
				inFrame--
			}
			frame[windows%frameLen] = miss
			if miss {
				unseen++
				inFrame++
				maxFrame = max(maxFrame, inFrame)
			}
			windows++
		}
		prev, cur, prevSeen = cur, prev, seen
	}
	if len(seq) > 0 && len(seq) < frameLen {
		s.peak = s.nll / float64(len(seq))
	}
	switch {
	case windows > 0:
		s.unseen = float64(unseen) / float64(windows)
		s.frames = float64(maxFrame) / frameLen
	case len(seq) > 0 && prevSeen < len(seq): // shorter than order: the whole trace as one gram
		s.unseen, s.frames = 1, 1.0/frameLen
	}
}
