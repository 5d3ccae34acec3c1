package trace

import "slices"

// coverKind says what a covering model measures of a trace's matches in
// the training traces.
type coverKind uint8

const (
	// coverSegments counts the segments of the greedy covering of the
	// trace by subsequences of the training traces, per call.
	coverSegments coverKind = iota
	// coverNear counts them against the training traces most like the
	// trace by set of calls: the runs of its program.
	coverNear
	// matchMean10 and matchMean20 are the mean shortfall of the longest
	// match ending at each call from 10 and 20 calls.
	matchMean10
	matchMean20
	// matchLow is the mean shortfall from 20 calls of the lowest tenth of
	// those matches: the trace's least familiar stretches.
	matchLow
)

// coverNeighbours is how many training traces, the most similar by set of
// calls, a trace is covered with by coverNear: as many as local's n-gram
// model of the trace's program.
const coverNeighbours = localNeighbours

// cover scores a trace by how it is covered by the contiguous subsequences
// of the training traces (Marteau, "Sequence Covering for Efficient
// Host-Based Intrusion Detection", IEEE TIFS 2019): a normal trace is
// mostly long stretches some training trace also made, an attack splices
// known stretches in new ways or adds calls, and needs more, shorter ones.
// Unlike an n-gram model of a fixed order, the matches have any length:
// one segment of 300 calls is as familiar as the training trace it comes
// from, which no window of 6 says. A suffix automaton of the training
// traces (automaton) gives the greedy covering and the longest match
// ending at every call in time linear in the trace's length.
type cover struct {
	kind   coverKind
	a      *automaton // of all training traces (not coverNear)
	calls  *nearest   // coverNear: the training traces' call sets
	traces [][]int32  // coverNear: the training traces
}

func newCover(kind coverKind) *cover { return &cover{kind: kind} }

func (m *cover) train(seqs [][]int32, seed uint64) {
	if m.kind != coverNear {
		m.a = newAutomaton(seqs)
		return
	}
	m.traces, m.calls = seqs, newNearest(repertoire)
	m.calls.train(seqs, seed)
}

// scores sets out[i] to the novelty of seqs[i] by the model's kind, in
// [0, 1]; an empty trace gets 0.
func (m *cover) scores(seqs [][]int32, out []float64) {
	var ms []int32
	nf := neighbourFinder{pr: profiler{m: m.calls}}
	for i, seq := range seqs {
		if len(seq) == 0 {
			out[i] = 0
			continue
		}
		n := float64(len(seq))
		switch m.kind {
		case coverSegments:
			out[i] = float64(m.a.segments(seq)) / n
		case coverNear:
			near := nf.of(seq, coverNeighbours)
			own := make([][]int32, len(near))
			for j, t := range near {
				own[j] = m.traces[t]
			}
			out[i] = float64(newAutomaton(own).segments(seq)) / n
		default:
			ms = m.a.matches(seq, ms)
			out[i] = m.kind.shortfall(ms)
		}
	}
}

// shortfall returns how far the matches ms fall short of a familiar
// length, in [0, 1], by kind: of their mean capped at 10 or 20 calls, or
// of the mean of their lowest tenth capped at 20. The cap keeps one long
// repeat of a training trace from outweighing the rest of the trace. It
// may reorder ms.
func (k coverKind) shortfall(ms []int32) float64 {
	limit, n := int32(20), len(ms)
	switch k {
	case matchMean10:
		limit = 10
	case matchLow:
		slices.Sort(ms)
		n = max(1, len(ms)/10)
	}
	s := 0
	for _, l := range ms[:n] {
		s += int(min(l, limit))
	}
	return 1 - float64(s)/float64(n)/float64(limit)
}
