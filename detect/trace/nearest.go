package trace

import (
	"math"
	"slices"
)

// profileKind says what a nearest model compares traces by.
type profileKind uint8

const (
	// repertoire is the set of distinct calls: which program, or which
	// part of a program, a trace comes from.
	repertoire profileKind = iota
	// transitions is log(1 + count) of each pair of successive calls: how
	// the program moves between its calls, and how much.
	transitions
)

// nearest scores a trace by how unlike its profile is to that of the most
// similar training trace: 1 minus the largest cosine similarity. Items of
// the trace that no training trace has count in its norm, so a trace made
// of new calls is far from everything.
//
// Where a language model asks whether each call is likely in its context,
// this asks whether some known trace looks like this one as a whole. The
// two disagree most on normal traces, which is what makes their consensus
// (see Sequence) useful.
type nearest struct {
	kind  profileKind
	items map[uint64]int32 // an item of a training profile → its column
	post  [][]posting      // per column, the training traces that have it
	n     int              // training traces
}

// posting is a training trace's weight of an item, its profile normalized
// to unit length.
type posting struct {
	trace int32
	w     float64
}

// profileItem is an item of a trace's profile and its weight.
type profileItem struct {
	item uint64
	w    float64
}

func newNearest(kind profileKind) *nearest { return &nearest{kind: kind} }

// profiler computes profiles of traces, reusing its buffers.
type profiler struct {
	m    *nearest
	buf  []uint64
	prof []profileItem
}

// of returns the items of seq, sorted, with their weights, and the norm of
// that vector. The items are valid until the next call.
func (p *profiler) of(seq []int32) ([]profileItem, float64) {
	p.buf, p.prof = p.m.profile(seq, p.buf, p.prof)
	s := 0.0
	for _, it := range p.prof {
		s += it.w * it.w
	}
	return p.prof, math.Sqrt(s)
}

// profile returns the items of seq, sorted, with their weights; buf is
// scratch space for the encoded items.
func (m *nearest) profile(seq []int32, buf []uint64, dst []profileItem) ([]uint64, []profileItem) {
	buf = buf[:0]
	switch m.kind {
	case repertoire:
		for _, c := range seq {
			buf = append(buf, uint64(uint32(c)))
		}
	case transitions:
		for i := 1; i < len(seq); i++ {
			buf = append(buf, uint64(uint32(seq[i-1]))<<32|uint64(uint32(seq[i])))
		}
	}
	slices.Sort(buf)
	dst = dst[:0]
	for i := 0; i < len(buf); {
		j := i + 1
		for j < len(buf) && buf[j] == buf[i] {
			j++
		}
		w := 1.0
		if m.kind == transitions {
			w = math.Log1p(float64(j - i))
		}
		dst = append(dst, profileItem{buf[i], w})
		i = j
	}
	return buf, dst
}

func (m *nearest) train(seqs [][]int32, _ uint64) {
	m.items, m.post, m.n = map[uint64]int32{}, nil, len(seqs)
	pr := profiler{m: m}
	for i, seq := range seqs {
		prof, norm := pr.of(seq)
		if norm == 0 {
			continue
		}
		for _, p := range prof {
			col, ok := m.items[p.item]
			if !ok {
				col = int32(len(m.post))
				m.items[p.item] = col
				m.post = append(m.post, nil)
			}
			m.post[col] = append(m.post[col], posting{int32(i), p.w / norm})
		}
	}
}

// scores sets out[i] to the distance of seqs[i] from its nearest training
// trace, in [0, 1]; an empty trace, which says nothing, gets 0.
func (m *nearest) scores(seqs [][]int32, out []float64) {
	var sim []float64
	pr := profiler{m: m}
	for i, seq := range seqs {
		prof, norm := pr.of(seq)
		if norm == 0 {
			out[i] = 0
			continue
		}
		sim = m.similarities(prof, norm, sim)
		best := 0.0
		for _, s := range sim {
			best = max(best, s)
		}
		out[i] = max(0, 1-best)
	}
}

// similarities returns, in sim (reused if long enough), the cosine
// similarity of the profile prof of norm norm > 0 to each training trace's.
func (m *nearest) similarities(prof []profileItem, norm float64, sim []float64) []float64 {
	if cap(sim) < m.n {
		sim = make([]float64, m.n)
	}
	sim = sim[:m.n]
	clear(sim)
	// Items in sorted order, so that the sums, and the score, are the
	// same bits on every run.
	for _, p := range prof {
		col, ok := m.items[p.item]
		if !ok {
			continue
		}
		for _, q := range m.post[col] {
			sim[q.trace] += q.w * p.w
		}
	}
	for i := range sim {
		sim[i] /= norm
	}
	return sim
}

// neighbourFinder finds the training traces of a nearest model most like
// a trace, reusing its buffers: the models of a trace's program (local,
// shape, cover) compare it with those.
type neighbourFinder struct {
	pr   profiler
	sim  []float64
	near []int32
}

// of returns the indexes of the k training traces most similar to seq,
// the most similar first, valid until the next call; none for an empty
// trace.
func (f *neighbourFinder) of(seq []int32, k int) []int32 {
	prof, norm := f.pr.of(seq)
	if norm == 0 {
		return nil
	}
	f.sim = f.pr.m.similarities(prof, norm, f.sim)
	f.near = topK(f.sim, k, f.near)
	return f.near
}
