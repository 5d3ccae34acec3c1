package trace

import (
	"math"
	"math/rand/v2"
	"sync"
)

// rnnClip bounds the norm of a minibatch's gradient.
const rnnClip = 5

// lane is one stream of training traces read one after the other: the
// token read at each step, the token to predict, and whether the step
// starts a trace (from the zero state).
type lane struct {
	in, out []int32
	start   []bool
	carry   []float64 // the state at the end of the last window
}

// lanes deals the traces, in the order given, to n lanes, each trace to the
// lane read least so far, so that the lanes have about the same length.
func (m *rnn) lanes(seqs [][]int32, order []int, n int) []lane {
	ls := make([]lane, n)
	for _, i := range order {
		best := 0
		for j := range ls {
			if len(ls[j].in) < len(ls[best].in) {
				best = j
			}
		}
		l := &ls[best]
		in := int32(tokPad)
		for t, x := range seqs[i] {
			tok := m.tokenOf(x)
			l.in, l.out, l.start = append(l.in, in), append(l.out, tok), append(l.start, t == 0)
			in = tok
		}
	}
	for j := range ls {
		ls[j].carry = make([]float64, m.h)
	}
	return ls
}

// tape holds the activations of the four lanes of a group over a window,
// for backpropagation; each field is indexed by step, then lane.
type tape struct {
	cells  [][4]cell
	dl     []quad // gradient of the loss with respect to the logits
	dhOut  []quad // ... with respect to the state, through the output
	da     []quad // ... with respect to the gates' inputs U·hp
	hp, hs []quad // the states before and after each step
	in     [][4]int32
	w      [][4]float64 // weight of each step's loss; 0 past a lane's end
	start  [][4]bool
	a      quad
	dh     quad
	dhp    quad
	tmp    quad
}

func (m *rnn) tape(window int) *tape {
	h := m.h
	tp := &tape{cells: make([][4]cell, window), dl: make([]quad, window), dhOut: make([]quad, window),
		da: make([]quad, window), hp: make([]quad, window), hs: make([]quad, window),
		in: make([][4]int32, window), w: make([][4]float64, window), start: make([][4]bool, window),
		a: newQuad(3 * h), dh: newQuad(h), dhp: newQuad(h), tmp: newQuad(h)}
	for t := range window {
		tp.cells[t] = newCells(h)
		tp.dl[t], tp.dhOut[t], tp.da[t] = newQuad(m.v), newQuad(h), newQuad(3*h)
		for l, c := range tp.cells[t] {
			tp.hp[t][l], tp.hs[t][l] = c.hp, c.h
		}
	}
	return tp
}

// forward runs steps [lo, lo+window) of the group g of four lanes (fewer
// at their ends), from the states they carry, and returns how many steps
// it ran and w times their summed loss. It records in tp the gradient of
// that loss with respect to the logits and, through them, to the states.
func (m *rnn) forward(g *[4]*lane, lo int, w float64, tp *tape) (int, float64) {
	n := 0
	for _, ln := range g {
		n = max(n, min(len(ln.in)-lo, len(tp.cells)))
	}
	loss := 0.0
	var y [4]int32
	for t := range n {
		for l, ln := range g {
			c := &tp.cells[t][l]
			tp.in[t][l], y[l], tp.w[t][l], tp.start[t][l] = tokPad, tokPad, 0, true
			if lo+t < len(ln.in) {
				tp.in[t][l], y[l], tp.w[t][l], tp.start[t][l] = ln.in[lo+t], ln.out[lo+t], w, ln.start[lo+t]
			}
			switch {
			case tp.start[t][l]:
				clear(c.hp)
			case t == 0:
				copy(c.hp, ln.carry)
			default:
				copy(c.hp, tp.cells[t-1][l].h)
			}
		}
		m.step(&tp.in[t], &tp.cells[t], &tp.a)
		m.logProbs(&tp.cells[t], &tp.dl[t])
		for l, dl := range tp.dl[t] {
			wl := tp.w[t][l]
			loss -= wl * dl[y[l]]
			for o, lp := range dl {
				dl[o] = wl * math.Exp(lp)
			}
			dl[y[l]] -= wl
		}
		matVec4(m.ot, m.v, &tp.dl[t], &tp.dhOut[t])
	}
	for l, ln := range g {
		if last := min(len(ln.in)-lo, n) - 1; last >= 0 {
			copy(ln.carry, tp.cells[last][l].h)
		}
	}
	return n, loss
}

// window adds to g the gradient of w times the loss of steps [lo,
// lo+window) of the four lanes of a group, truncated at the window's start,
// and moves the lanes' carried states to the window's end.
func (m *rnn) window(gr *[4]*lane, lo int, w float64, tp *tape, g []float64) {
	n, _ := m.forward(gr, lo, w, tp)
	h := m.h
	for l := range tp.dh {
		clear(tp.dh[l])
	}
	gbo := g[m.oBo : m.oBo+m.v]
	for t := n - 1; t >= 0; t-- {
		for l, dh := range tp.dh {
			for i, v := range tp.dhOut[t][l] {
				dh[i] += v
			}
			m.cellGrad(tp.in[t][l], &tp.cells[t][l], dh, tp.dhp[l], tp.da[t][l], g)
			for o, v := range tp.dl[t][l] {
				gbo[o] += v
			}
		}
		matVec4(m.ut, 3*h, &tp.da[t], &tp.tmp)
		for l, dh := range tp.dh {
			if tp.start[t][l] {
				clear(dh)
				continue
			}
			for i, v := range tp.tmp[l] {
				dh[i] = tp.dhp[l][i] + v
			}
		}
		outer4(g[m.oO:m.oO+m.v*h], &tp.dl[t], &tp.hs[t])
		outer4(g[m.oU:m.oU+3*h*h], &tp.da[t], &tp.hp[t])
	}
}

// train fits the model to seqs by truncated backpropagation through time
// over minibatches of Lanes lanes × Window steps, with Adam, the traces
// shuffled by seed at each epoch. Each group of four lanes computes its
// part of a minibatch's gradient on its own goroutine, and the parts are
// summed in a fixed order: the parameters do not depend on how many cores
// run the groups.
func (m *rnn) train(seqs [][]int32, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x74726e32))
	order := make([]int, len(seqs))
	for i := range order {
		order[i] = i
	}
	groups, T := (m.cfg.Lanes+3)/4, m.cfg.Window
	grads := make([][]float64, groups)
	tapes := make([]*tape, groups)
	for s := range grads {
		grads[s] = make([]float64, m.nParams)
		tapes[s] = m.tape(T)
	}
	opt := newAdam(m.nParams)
	steps, total := 0, m.cfg.Epochs*m.windows(seqs)
	for range m.cfg.Epochs {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		ls := m.lanes(seqs, order, 4*groups)
		longest := 0
		for _, l := range ls {
			longest = max(longest, len(l.in))
		}
		for lo := 0; lo < longest; lo += T {
			n := 0
			for _, l := range ls {
				n += max(0, min(lo+T, len(l.in))-lo)
			}
			w := 1 / float64(n)
			var wg sync.WaitGroup
			for s := range groups {
				wg.Go(func() {
					clear(grads[s])
					gr := [4]*lane{&ls[4*s], &ls[4*s+1], &ls[4*s+2], &ls[4*s+3]}
					m.window(&gr, lo, w, tapes[s], grads[s])
				})
			}
			wg.Wait()
			g := grads[0]
			for _, gs := range grads[1:] {
				for i, v := range gs {
					g[i] += v
				}
			}
			clipNorm(g, rnnClip)
			// the step size decays linearly to a tenth over training
			opt.update(m.p, g, m.cfg.Rate*max(0.1, 1-0.9*float64(steps)/float64(total)))
			steps++
			m.sync()
		}
	}
}

// clipNorm scales g down to a Euclidean norm of at most c.
func clipNorm(g []float64, c float64) {
	ss := 0.0
	for _, v := range g {
		ss += v * v
	}
	if n := math.Sqrt(ss); n > c {
		for i := range g {
			g[i] *= c / n
		}
	}
}

// windows returns how many windows an epoch over seqs has: the length of the
// longest lane over the window, as lanes deals them.
func (m *rnn) windows(seqs [][]int32) int {
	n := 0
	for _, s := range seqs {
		n += len(s)
	}
	return max(1, n/(4*((m.cfg.Lanes+3)/4))/m.cfg.Window)
}
