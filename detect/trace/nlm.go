package trace

import (
	"math"
	"math/rand/v2"

	"imgward/internal/vec"
)

// NeuralConfig configures the neural language model of Sequence. A zero
// field means its default. The defaults were chosen on ADFA-LD's held-out
// split (train → validation + attack) among a handful of settings, under a
// budget of about 2 minutes of training on 2 cores: more epochs helped
// (0.866 → 0.874), more hidden units (32, 48, 64) did not.
type NeuralConfig struct {
	Context int     // previous elements the model sees; default 12
	Embed   int     // embedding size of an element; default 16
	Hidden  int     // tanh units; default 32
	Epochs  int     // passes over the training positions; default 4
	Batch   int     // minibatch size; default 128
	Rate    float64 // Adam step size; default 0.01
}

func (c *NeuralConfig) defaults() {
	positive(&c.Context, 12)
	positive(&c.Embed, 16)
	positive(&c.Hidden, 32)
	positive(&c.Epochs, 4)
	positive(&c.Batch, 128)
	positive(&c.Rate, 0.01)
}

// Tokens of the neural model: padding before the start of a sequence, an
// element not seen in training, then the training vocabulary.
const (
	tokPad = 0
	tokUnk = 1
)

// nlm is a feed-forward neural n-gram language model (Bengio et al., 2003):
// the embeddings of the Context previous elements feed one tanh hidden
// layer, then a softmax over the vocabulary. It generalizes across contexts
// through the embeddings, where a count model sees only unseen n-grams.
//
// All parameters live in one slice p: embeddings (v×d), W1 (h×k·d), b1
// (h), W2 (v×h), b2 (v).
type nlm struct {
	cfg              NeuralConfig
	k, d, h, v       int
	vocab            map[int32]int32 // element → token
	p                []float64
	oEmb, oW1, oB1   int
	oW2, oB2         int
	maxNLL           float64 // cap of the NLL of one element
	nParams, inWidth int
}

func newNLM(cfg NeuralConfig, vocab map[int32]int32, seed uint64) *nlm {
	cfg.defaults()
	m := &nlm{cfg: cfg, k: cfg.Context, d: cfg.Embed, h: cfg.Hidden, v: len(vocab) + 2, vocab: vocab}
	m.inWidth = m.k * m.d
	m.oEmb = 0
	m.oW1 = m.oEmb + m.v*m.d
	m.oB1 = m.oW1 + m.h*m.inWidth
	m.oW2 = m.oB1 + m.h
	m.oB2 = m.oW2 + m.v*m.h
	m.nParams = m.oB2 + m.v
	m.p = make([]float64, m.nParams)
	rng := rand.New(rand.NewPCG(seed, 0x6e6c6d))
	for i := m.oEmb; i < m.oW1; i++ {
		m.p[i] = rng.NormFloat64() * 0.1
	}
	s1 := 1 / math.Sqrt(float64(m.inWidth))
	for i := m.oW1; i < m.oB1; i++ {
		m.p[i] = (2*rng.Float64() - 1) * s1
	}
	s2 := 1 / math.Sqrt(float64(m.h))
	for i := m.oW2; i < m.oB2; i++ {
		m.p[i] = (2*rng.Float64() - 1) * s2
	}
	m.maxNLL = math.Log(float64(m.v) * 1e4)
	return m
}

// vocabOf numbers the distinct elements of seqs from 2, in order of first
// appearance.
func vocabOf(seqs [][]int32) map[int32]int32 {
	vocab := make(map[int32]int32)
	for _, s := range seqs {
		for _, x := range s {
			if _, ok := vocab[x]; !ok {
				vocab[x] = int32(len(vocab) + 2)
			}
		}
	}
	return vocab
}

// tokens maps seq to tokens, preceded by k padding tokens.
func (m *nlm) tokens(seq []int32) []int32 {
	t := make([]int32, m.k+len(seq))
	for i, x := range seq {
		tok, ok := m.vocab[x]
		if !ok {
			tok = tokUnk
		}
		t[m.k+i] = tok
	}
	return t
}

// scratch holds the activations of one example.
type nlmScratch struct {
	x, a, l, da, dx []float64
}

func (m *nlm) scratch() *nlmScratch {
	return &nlmScratch{
		x: make([]float64, m.inWidth), a: make([]float64, m.h), l: make([]float64, m.v),
		da: make([]float64, m.h), dx: make([]float64, m.inWidth),
	}
}

// forward computes the log-probabilities of the element after ctx (k
// tokens) into s.l, in place of the logits, and returns -log P(y).
func (m *nlm) forward(ctx []int32, y int32, s *nlmScratch) float64 {
	p, d := m.p, m.d
	for j, tok := range ctx {
		copy(s.x[j*d:(j+1)*d], p[m.oEmb+int(tok)*d:])
	}
	x := s.x
	for i := range m.h {
		s.a[i] = math.Tanh(p[m.oB1+i] + vec.Dot(p[m.oW1+i*m.inWidth:m.oW1+(i+1)*m.inWidth], x))
	}
	a := s.a
	mx := math.Inf(-1)
	for o := range m.v {
		z := p[m.oB2+o] + vec.Dot(p[m.oW2+o*m.h:m.oW2+(o+1)*m.h], a)
		s.l[o] = z
		mx = max(mx, z)
	}
	sum := 0.0
	for _, z := range s.l {
		sum += math.Exp(z - mx)
	}
	lse := mx + math.Log(sum)
	for o := range s.l {
		s.l[o] -= lse
	}
	return -s.l[y]
}

// backward adds the gradient of -log P(y) times w to g, after forward.
func (m *nlm) backward(ctx []int32, y int32, w float64, s *nlmScratch, g []float64) {
	p, h := m.p, m.h
	clear(s.da)
	for o := range m.v {
		dl := math.Exp(s.l[o])
		if int32(o) == y {
			dl--
		}
		dl *= w
		if dl == 0 {
			continue
		}
		g[m.oB2+o] += dl
		axpy2(dl, s.a, g[m.oW2+o*h:m.oW2+(o+1)*h], p[m.oW2+o*h:m.oW2+(o+1)*h], s.da)
	}
	clear(s.dx)
	for i, av := range s.a {
		dz := s.da[i] * (1 - av*av)
		if dz == 0 {
			continue
		}
		g[m.oB1+i] += dz
		axpy2(dz, s.x, g[m.oW1+i*m.inWidth:m.oW1+(i+1)*m.inWidth], p[m.oW1+i*m.inWidth:m.oW1+(i+1)*m.inWidth], s.dx)
	}
	d := m.d
	for j, tok := range ctx {
		ge := g[m.oEmb+int(tok)*d : m.oEmb+int(tok+1)*d]
		for e, v := range s.dx[j*d : (j+1)*d] {
			ge[e] += v
		}
	}
}

// train fits the model to seqs by minibatch Adam over all positions, in an
// order shuffled by seed.
func (m *nlm) train(seqs [][]int32, seed uint64) {
	type pos struct{ seq, t int32 }
	toks := make([][]int32, len(seqs))
	var all []pos
	for i, s := range seqs {
		toks[i] = m.tokens(s)
		for t := range s {
			all = append(all, pos{int32(i), int32(t)})
		}
	}
	if len(all) == 0 {
		return
	}
	rng := rand.New(rand.NewPCG(seed, 0x74726e))
	g := make([]float64, m.nParams)
	opt := newAdam(m.nParams)
	s := m.scratch()
	B := m.cfg.Batch
	for range m.cfg.Epochs {
		rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
		for lo := 0; lo < len(all); lo += B {
			batch := all[lo:min(lo+B, len(all))]
			clear(g)
			w := 1 / float64(len(batch))
			for _, e := range batch {
				tk := toks[e.seq]
				ctx, y := tk[e.t:e.t+int32(m.k)], tk[e.t+int32(m.k)]
				m.forward(ctx, y, s)
				m.backward(ctx, y, w, s, g)
			}
			opt.update(m.p, g, m.cfg.Rate)
		}
	}
}

// nll returns the mean negative log-likelihood of the elements of seq, each
// capped at maxNLL. It is safe for concurrent use.
func (m *nlm) nll(seq []int32, s *nlmScratch) float64 {
	if len(seq) == 0 {
		return 0
	}
	tk := m.tokens(seq)
	seen := make(map[uint64]float64) // traces repeat themselves: each window once (64-bit hashes)
	sum := 0.0
	for t := range seq {
		h := hashGram(tk[t : t+m.k+1])
		v, ok := seen[h]
		if !ok {
			v = min(m.forward(tk[t:t+m.k], tk[t+m.k], s), m.maxNLL)
			seen[h] = v
		}
		sum += v
	}
	return sum / float64(len(seq))
}

// axpy2 adds a·x to g and a·w to dx: the gradients of a row w of weights
// and of its input x, given the gradient a of the row's output.
func axpy2(a float64, x, g, w, dx []float64) {
	g, w, dx = g[:len(x)], w[:len(x)], dx[:len(x)]
	for j, xv := range x {
		g[j] += a * xv
		dx[j] += a * w[j]
	}
}

// hashGram returns a 64-bit hash of the tokens g.
func hashGram(g []int32) uint64 {
	h := uint64(0x243f6a8885a308d3)
	for _, x := range g {
		h = mix(h, x)
	}
	return h
}

// scores sets out[i] to the mean NLL of seqs[i].
func (m *nlm) scores(seqs [][]int32, out []float64) {
	s := m.scratch()
	for i, t := range seqs {
		out[i] = m.nll(t, s)
	}
}
