package trace

import (
	"math"
	"slices"
)

// shapeKind says what a shape model compares and against which training
// traces.
type shapeKind uint8

const (
	// byCallsShape compares a trace's whole shape (shapeOf) with that of
	// the training traces most like it by their set of calls.
	byCallsShape shapeKind = iota
	// byCallsLength compares only its length, with the same neighbours:
	// how usual a trace of this length is for a program of these calls.
	byCallsLength
	// loopShape compares its repetition structure (shapeOf without the
	// length) with that of every training trace.
	loopShape
)

// shapeNeighbours is how many training traces of the most similar call
// sets a trace's shape is compared with. One is too few: a program's runs
// differ in length and in how often they loop.
const shapeNeighbours = 5

// shapeDims is the number of properties in a trace's shape (shapeOf).
const shapeDims = 5

// shape scores a trace by properties of the whole trace that the n-gram
// and nearest-trace models ignore (shapeOf): its length and how it
// repeats. A brute-force attack repeats one loop (an authentication)
// many times; a program run for another purpose is longer or shorter
// than its usual runs. The score is the smallest distance, in robust
// standard deviations of the training traces' properties, from the
// trace's properties to those of a comparison training trace: one of
// the shapeNeighbours nearest by set of calls (byCallsShape,
// byCallsLength), or any (loopShape).
type shape struct {
	kind  shapeKind
	calls *nearest    // the training traces' call sets, to find neighbours
	props [][]float64 // each training trace's properties in use, scaled
	scale []float64
}

func newShape(kind shapeKind) *shape { return &shape{kind: kind} }

// dims returns the properties of shapeOf that kind compares.
func (k shapeKind) dims() (lo, hi int) {
	switch k {
	case byCallsLength:
		return 0, 1
	case loopShape:
		return 1, shapeDims
	}
	return 0, shapeDims
}

func (m *shape) train(seqs [][]int32, seed uint64) {
	lo, hi := m.kind.dims()
	m.props = make([][]float64, len(seqs))
	for i, s := range seqs {
		p := shapeOf(s)
		m.props[i] = p[lo:hi:hi]
	}
	m.scale = make([]float64, hi-lo)
	col := make([]float64, len(seqs))
	for j := range m.scale {
		for i, p := range m.props {
			col[i] = p[j]
		}
		_, m.scale[j] = robustLocScale(col)
	}
	for _, p := range m.props {
		for j := range p {
			p[j] /= m.scale[j]
		}
	}
	if m.kind != loopShape {
		m.calls = newNearest(repertoire)
		m.calls.train(seqs, seed)
	}
}

// scores sets out[i] to the distance of seqs[i]'s shape from its nearest
// comparison trace's; an empty trace, which says nothing, gets 0.
func (m *shape) scores(seqs [][]int32, out []float64) {
	lo, hi := m.kind.dims()
	x := make([]float64, hi-lo)
	nf := neighbourFinder{pr: profiler{m: m.calls}}
	for i, seq := range seqs {
		if len(seq) == 0 {
			out[i] = 0
			continue
		}
		p := shapeOf(seq)
		for j := range x {
			x[j] = p[lo+j] / m.scale[j]
		}
		cands := m.props
		if m.calls != nil {
			cands = cands[:0:0]
			for _, t := range nf.of(seq, shapeNeighbours) {
				cands = append(cands, m.props[t])
			}
		}
		best := math.Inf(1)
		for _, c := range cands {
			d := 0.0
			for j, v := range c {
				d += (x[j] - v) * (x[j] - v)
			}
			best = min(best, d)
		}
		out[i] = math.Sqrt(best / float64(len(x)))
	}
}

// topK returns the indexes of the k largest values of v, the lower index
// first on a tie, so that scores are the same on every run.
func topK(v []float64, k int, dst []int32) []int32 {
	dst = dst[:0]
	for i := range v {
		dst = append(dst, int32(i))
	}
	slices.SortStableFunc(dst, func(a, b int32) int {
		switch {
		case v[a] > v[b]:
			return -1
		case v[a] < v[b]:
			return 1
		}
		return 0
	})
	return dst[:min(k, len(dst))]
}

// shapeOf returns the properties of a trace as a whole, each on a scale
// where a difference means about the same at any length:
//
//  0. log(1 + length);
//  1. the distinct 3-grams per 3-gram: low for a trace that loops;
//  2. the LZ78 complexity, phrases·log2(phrases)/length (about the
//     entropy rate of the trace in bits per call; Ziv and Lempel, 1978):
//     low for a trace that repeats itself at any scale;
//  3. the entropy rate of its own transitions, H(next call | call), in
//     nats: how predictable it is from its own pairs;
//  4. the longest periodic stretch (successive calls equal to the call p
//     before, for some period p ≤ 8) as a fraction of the length: the
//     longest tight loop.
func shapeOf(seq []int32) [shapeDims]float64 {
	var p [shapeDims]float64
	n := len(seq)
	p[0] = math.Log1p(float64(n))
	if n == 0 {
		return p
	}
	grams := map[uint64]struct{}{}
	for i := 2; i < n; i++ {
		grams[mix(mix(mix(0, seq[i-2]), seq[i-1]), seq[i])] = struct{}{}
	}
	p[1] = 1
	if n > 2 {
		p[1] = float64(len(grams)) / float64(n-2)
	}
	c := float64(lz78Phrases(seq))
	p[2] = c * math.Log2(c+1) / float64(n)
	p[3] = transitionEntropy(seq)
	p[4] = float64(longestPeriodic(seq, 8)) / float64(n)
	return p
}

// lz78Phrases returns the number of phrases of the LZ78 parse of seq:
// each phrase is the longest phrase seen before plus one element.
func lz78Phrases(seq []int32) int {
	type edge struct {
		node int32
		v    int32
	}
	trie := map[edge]int32{}
	phrases, node := 0, int32(0)
	for _, v := range seq {
		if next, ok := trie[edge{node, v}]; ok {
			node = next
			continue
		}
		phrases++
		trie[edge{node, v}] = int32(phrases)
		node = 0
	}
	if node != 0 { // an unfinished last phrase
		phrases++
	}
	return phrases
}

// transitionEntropy returns the conditional entropy of a call given the
// one before, over the pairs of successive calls of seq, in nats.
func transitionEntropy(seq []int32) float64 {
	if len(seq) < 2 {
		return 0
	}
	pairs := map[uint64]float64{}
	from := map[int32]float64{}
	for i := 1; i < len(seq); i++ {
		pairs[uint64(uint32(seq[i-1]))<<32|uint64(uint32(seq[i]))]++
		from[seq[i-1]]++
	}
	// Sum in sorted order so that the result is the same bits every run.
	keys := make([]uint64, 0, len(pairs))
	for k := range pairs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	n := float64(len(seq) - 1)
	h := 0.0
	for _, k := range keys {
		c := pairs[k]
		h -= c / n * math.Log(c/from[int32(uint32(k>>32))])
	}
	return h
}

// longestPeriodic returns the length of the longest stretch of seq in
// which every call equals the one p before, for one period p ≤ maxP,
// counting the first period: 0 if there is none.
func longestPeriodic(seq []int32, maxP int) int {
	best := 0
	for p := 1; p <= maxP && p < len(seq); p++ {
		run := 0
		for i := p; i < len(seq); i++ {
			if seq[i] == seq[i-p] {
				run++
				best = max(best, run+p)
			} else {
				run = 0
			}
		}
	}
	return best
}
