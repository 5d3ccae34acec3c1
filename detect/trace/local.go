package trace

import "math"

// localNeighbours is how many training traces, the most similar by set of
// calls, make a trace's local n-gram model: enough runs of one program to
// hold its usual paths, few enough not to mix in other programs'.
const localNeighbours = 10

// localPriorWeight is the weight, in elements, of the global unigram
// distribution in a local model's unigrams.
const localPriorWeight = 10

// local scores a trace by its mean negative log-likelihood under an n-gram
// model of the training traces most like it by set of calls (a baseline
// per program, found by the nearest-trace index), its unigrams smoothed
// toward those of all training traces. The global n-gram model (NLL)
// asks whether each call is likely after its context in any program; this
// asks whether it is likely in the program the trace's calls say it is: an
// attack that drives a known program (a server's authentication) through
// paths other programs take, or reorders its own calls, is unlikely here
// and ordinary there.
type local struct {
	order  int
	calls  *nearest
	traces [][]int32
	prior  *unigramPrior
}

func newLocal(order int) *local { return &local{order: order} }

func (m *local) train(seqs [][]int32, seed uint64) {
	m.traces, m.calls = seqs, newNearest(repertoire)
	m.calls.train(seqs, seed)
	g := newNgramModel(1)
	for _, s := range seqs {
		g.add(s)
	}
	m.prior = g.unigrams()
}

// scores sets out[i] to the mean negative log-likelihood of seqs[i] under
// the model of its neighbours; an empty trace gets 0.
func (m *local) scores(seqs [][]int32, out []float64) {
	var st seqStats
	nf := neighbourFinder{pr: profiler{m: m.calls}}
	for i, seq := range seqs {
		near := nf.of(seq, localNeighbours)
		if near == nil {
			out[i] = 0
			continue
		}
		lm := newNgramModel(m.order)
		lm.prior, lm.priorW = m.prior, localPriorWeight
		for _, t := range near {
			lm.add(m.traces[t])
		}
		lm.stats(seq, &st)
		out[i] = st.nll / float64(len(seq))
		if math.IsNaN(out[i]) || math.IsInf(out[i], 0) {
			out[i] = 0
		}
	}
}
