package trace

import (
	"math"
	"math/rand/v2"
)

// RecurrentConfig configures the recurrent language model of Sequence. A
// zero field means its default. The defaults were chosen on ADFA-LD's
// held-out split (train → validation + attack) among the settings listed in
// docs/EVALUATION.md, under a budget of about a minute of training on 2
// cores for the cross-fitted models.
type RecurrentConfig struct {
	Hidden int     // GRU units; default 32
	Epochs int     // passes over the training traces; default 4
	Lanes  int     // traces trained side by side, a multiple of 4; default 64
	Window int     // steps of truncated backpropagation through time; default 8
	Rate   float64 // initial Adam step size, decaying linearly to a tenth; default 0.01
	// Folds is the number of folds of the GRU's cross-fitting, at least 2;
	// default 2. The GRU memorises little, so the scores of the training
	// traces under a model of half of them are close to those under a model
	// of all, and on ADFA-LD 2 folds gave the AUCs of 5 (within the spread
	// of seeds) in 40% of the training time.
	Folds int
}

func (c *RecurrentConfig) defaults() {
	positive(&c.Hidden, 32)
	positive(&c.Epochs, 4)
	positive(&c.Lanes, 64)
	positive(&c.Window, 8)
	positive(&c.Rate, 0.01)
	c.Folds = max(c.Folds, 2)
}

// rnn is a recurrent language model of system calls, a GRU (Cho et al.,
// 2014) read by a softmax over the vocabulary, as the LSTM models of Kim et
// al. (2016). Its state summarises the whole trace so far, where an n-gram
// model sees a fixed window.
//
// One cell step from state hp, reading token x:
//
//	r = σ(Xr[x] + Ur·hp)            reset gate
//	z = σ(Xz[x] + Uz·hp)            update gate
//	c = Un·hp + bn
//	n = tanh(Xn[x] + r⊙c)           candidate
//	h = n + z⊙(hp − n)
//
// The input of a step is one token, so the input weights and biases are a
// table X of 3·H numbers per token (a one-hot input times a matrix). The
// first call of a trace is read after tokPad from the zero state.
//
// All parameters live in one slice p: X (v×3h), U (3h×h), bn (h), O (v×h),
// bo (v); the logits of the next element are O·h + bo.
type rnn struct {
	cfg         RecurrentConfig
	h, v        int
	vocab       map[int32]int32 // element → token
	p           []float64
	oX, oU, oBn int
	oO, oBo     int
	maxNLL      float64 // cap of the NLL of one element
	nParams     int
	ut, ot      []float64 // transposes of U and O
}

func newRNN(cfg RecurrentConfig, vocab map[int32]int32, seed uint64) *rnn {
	cfg.defaults()
	h, v := cfg.Hidden, len(vocab)+2
	m := &rnn{cfg: cfg, h: h, v: v, vocab: vocab, ut: make([]float64, 3*h*h), ot: make([]float64, v*h)}
	m.oX = 0
	m.oU = m.oX + v*3*h
	m.oBn = m.oU + 3*h*h
	m.oO = m.oBn + h
	m.oBo = m.oO + v*h
	m.nParams = m.oBo + v
	m.p = make([]float64, m.nParams)
	rng := rand.New(rand.NewPCG(seed, 0x67727521))
	s := 1 / math.Sqrt(float64(h))
	for i := m.oX; i < m.oBo; i++ {
		m.p[i] = (2*rng.Float64() - 1) * s
	}
	m.maxNLL = math.Log(float64(v) * 1e4)
	m.sync()
	return m
}

// tokenOf returns the token of element x.
func (m *rnn) tokenOf(x int32) int32 {
	if tok, ok := m.vocab[x]; ok {
		return tok
	}
	return tokUnk
}

// quad holds one vector for each of the four lanes that the model runs side
// by side.
type quad = [4][]float64

// cell holds the activations of one step of one lane.
type cell struct {
	hp, r, z, c, n, h []float64
}

// newCells returns four cells over one allocation.
func newCells(h int) [4]cell {
	buf := make([]float64, 4*6*h)
	var cs [4]cell
	for l := range cs {
		b := buf[l*6*h:]
		cs[l] = cell{hp: b[:h], r: b[h : 2*h], z: b[2*h : 3*h], c: b[3*h : 4*h], n: b[4*h : 5*h], h: b[5*h : 6*h]}
	}
	return cs
}

func newQuad(n int) quad {
	buf := make([]float64, 4*n)
	return quad{buf[:n], buf[n : 2*n], buf[2*n : 3*n], buf[3*n:]}
}

// step runs the cells of four lanes, each from its state cs[l].hp reading
// token x[l]; a is scratch of length 3h.
func (m *rnn) step(x *[4]int32, cs *[4]cell, a *quad) {
	p, h := m.p, m.h
	hp := quad{cs[0].hp, cs[1].hp, cs[2].hp, cs[3].hp}
	matVec4(p[m.oU:m.oU+3*h*h], h, &hp, a)
	bn := p[m.oBn : m.oBn+h]
	for l := range cs {
		c, al := &cs[l], a[l][:3*h]
		xr := p[m.oX+int(x[l])*3*h : m.oX+int(x[l]+1)*3*h]
		for i := range h {
			r := sigmoid(xr[i] + al[i])
			z := sigmoid(xr[h+i] + al[h+i])
			cc := al[2*h+i] + bn[i]
			n := math.Tanh(xr[2*h+i] + r*cc)
			c.r[i], c.z[i], c.c[i], c.n[i] = r, z, cc, n
			c.h[i] = n + z*(c.hp[i]-n)
		}
	}
}

// logProbs writes the log-probabilities of the next token after the
// states cs[l].h into out[l] (length v).
func (m *rnn) logProbs(cs *[4]cell, out *quad) {
	p := m.p
	hs := quad{cs[0].h, cs[1].h, cs[2].h, cs[3].h}
	matVec4(p[m.oO:m.oO+m.v*m.h], m.h, &hs, out)
	bo := p[m.oBo : m.oBo+m.v]
	for _, l := range out {
		l = l[:len(bo)]
		mx := math.Inf(-1)
		for o, b := range bo {
			l[o] += b
			mx = max(mx, l[o])
		}
		sum := 0.0
		for _, z := range l {
			sum += math.Exp(z - mx)
		}
		lse := mx + math.Log(sum)
		for o := range l {
			l[o] -= lse
		}
	}
}

// cellGrad back-propagates dh, the gradient of the loss with respect to
// c.h, through the step of one lane that read token x: it adds the
// gradient of X and bn to g, writes that of the gates' inputs U·hp (+bn)
// into da and the direct part of that of c.hp into dhp. The part through
// U is added by the caller, for four lanes at once.
func (m *rnn) cellGrad(x int32, c *cell, dh, dhp, da, g []float64) {
	h := m.h
	gx := g[m.oX+int(x)*3*h : m.oX+int(x+1)*3*h]
	gbn := g[m.oBn : m.oBn+h]
	da = da[:3*h]
	for i, d := range dh[:h] {
		r, z, n := c.r[i], c.z[i], c.n[i]
		dn := d * (1 - z) * (1 - n*n)
		dz := d * (c.hp[i] - n) * z * (1 - z)
		dr := dn * c.c[i] * r * (1 - r)
		dc := dn * r
		gx[i] += dr
		gx[h+i] += dz
		gx[2*h+i] += dn
		gbn[i] += dc
		da[i], da[h+i], da[2*h+i] = dr, dz, dc
		dhp[i] = d * z
	}
}

// sync refreshes the transposes of U and O that backpropagation reads,
// after the parameters change.
func (m *rnn) sync() {
	h := m.h
	transpose(m.p[m.oU:m.oU+3*h*h], 3*h, h, m.ut)
	transpose(m.p[m.oO:m.oO+m.v*h], m.v, h, m.ot)
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
