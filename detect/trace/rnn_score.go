package trace

// rnnScratch is what scoring needs: the activations of four lanes.
type rnnScratch struct {
	c    [4]cell
	a, l quad
}

func (m *rnn) scratch() *rnnScratch {
	return &rnnScratch{c: newCells(m.h), a: newQuad(3 * m.h), l: newQuad(m.v)}
}

// nlls sets out[i] to the mean negative log-likelihood of the elements of
// seqs[i], each capped at maxNLL (0 for an empty trace). It reads four
// traces side by side, a lane taking the next trace when its own ends. It
// is safe for concurrent use with distinct scratch.
func (m *rnn) nlls(seqs [][]int32, out []float64, s *rnnScratch) {
	var (
		cur  [4]int // the trace of each lane; -1: none left
		pos  [4]int
		sum  [4]float64
		x    [4]int32
		next int
	)
	take := func(l int) {
		for next < len(seqs) && len(seqs[next]) == 0 {
			out[next] = 0
			next++
		}
		cur[l], pos[l], sum[l] = -1, 0, 0
		if next < len(seqs) {
			cur[l] = next
			next++
		}
	}
	for l := range cur {
		take(l)
	}
	for cur != [4]int{-1, -1, -1, -1} {
		for l, i := range cur {
			x[l] = tokPad
			if i >= 0 && pos[l] > 0 {
				x[l] = m.tokenOf(seqs[i][pos[l]-1])
			} else {
				clear(s.c[l].hp)
			}
		}
		m.step(&x, &s.c, &s.a)
		m.logProbs(&s.c, &s.l)
		for l, i := range cur {
			s.c[l].hp, s.c[l].h = s.c[l].h, s.c[l].hp
			if i < 0 {
				continue
			}
			sum[l] += min(-s.l[l][m.tokenOf(seqs[i][pos[l]])], m.maxNLL)
			if pos[l]++; pos[l] == len(seqs[i]) {
				out[i] = sum[l] / float64(len(seqs[i]))
				take(l)
			}
		}
	}
}

// nll returns the mean negative log-likelihood of the elements of seq.
func (m *rnn) nll(seq []int32, s *rnnScratch) float64 {
	var out [1]float64
	m.nlls([][]int32{seq}, out[:], s)
	return out[0]
}

// scores sets out[i] to the mean NLL of seqs[i].
func (m *rnn) scores(seqs [][]int32, out []float64) { m.nlls(seqs, out, m.scratch()) }
