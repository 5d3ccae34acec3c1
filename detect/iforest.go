package detect

import (
	"math"
	"math/rand/v2"
	"sync"
)

// IForest is an isolation forest (Liu, Ting and Zhou, 2008): Trees random
// trees, each grown on SampleSize rows drawn without replacement, splitting
// a random non-constant feature at a uniform random threshold until a row
// is isolated or the depth reaches ceil(log2(SampleSize)). A row's score is
// 2^(-E[h]/c(SampleSize)), where h is its path length (plus c(size) at a
// leaf that still holds size rows) and c(n) the mean path length of an
// unsuccessful search in a binary search tree of n keys: near 1 for
// anomalies, at most about 0.5 for normal rows.
//
// Like every isolation forest, it never splits a feature that was constant
// in the baseline and cannot see such a feature change; and a value beyond
// the baseline's range is isolated no faster than the most extreme baseline
// value. The ensemble pairs it with detectors that see both.
//
// Each tree is stored complete, as an implicit binary heap of its full
// depth: a leaf above the bottom passes rows straight down (threshold
// +Inf) to a bottom leaf that holds its path length. Scoring is then the
// same number of branch-free steps in every tree, several trees at a time.
type IForest struct {
	cfg    Config
	p      profile
	d      int
	depth  int
	width  int // 2^depth: the nodes of a tree, from index 1, and its leaves
	forest []tree
	norm   float64   // c(SampleSize)
	pool   sync.Pool // of *blockScratch
}

var _ Detector = (*IForest)(nil)

// tree is an isolation tree as a heap from index 1: node i sends a row x
// to its left child, 2i+1, when x[feat[i]] < thr[i], else to 2i, and a
// row that leaves the bottom for index i ends with the path length
// leaf[i-width]. Thresholds and features lie in arrays of their own, each
// read at the node's index, and the left child is the odd one so that a
// child is 2i plus the bit of the comparison (see lessBit), one
// instruction; both spare the processor instructions in the step it takes
// most often.
type tree struct {
	thr  []float64
	feat []int
	leaf []float64
	key  []uint64 // thr as orderKey, for ScoreBatch
	off  []int    // feat times rowBlock*8: the byte offset of the node's column in ScoreBatch's block
}

// NewIForest returns an unfitted isolation forest.
func NewIForest(c Config) *IForest { return &IForest{cfg: c} }

// Fit implements Detector.
func (f *IForest) Fit(X [][]float64) error {
	d, err := check("detect.IForest.Fit", X, f.cfg.Names)
	if err != nil {
		return err
	}
	f.p, f.d = fitProfile(X, f.cfg.Names), d
	trees := f.cfg.Trees
	if trees <= 0 {
		trees = 100
	}
	psi := f.cfg.SampleSize
	if psi <= 0 {
		psi = 256
	}
	psi = min(psi, len(X))
	f.norm = max(avgPath(psi), 1)
	f.depth = 0
	for 1<<f.depth < psi {
		f.depth++
	}
	w := 1 << f.depth
	f.width, f.forest = w, make([]tree, trees)
	thr, feat, leaf := make([]float64, trees*w), make([]int, trees*w), make([]float64, trees*w)
	for t := range f.forest {
		f.forest[t] = tree{thr: thr[t*w : (t+1)*w], feat: feat[t*w : (t+1)*w], leaf: leaf[t*w : (t+1)*w]}
	}
	rng := rand.New(rand.NewPCG(f.cfg.Seed, 0x1f0e57))
	b := &builder{f: f, X: X, rng: rng, perm: make([]int, len(X)), feats: make([]int, d)}
	for i := range b.perm {
		b.perm[i] = i
	}
	rows := make([]int, psi)
	for t := range f.forest {
		// A partial Fisher-Yates shuffle draws psi rows without replacement.
		for i := range psi {
			k := i + rng.IntN(len(b.perm)-i)
			b.perm[i], b.perm[k] = b.perm[k], b.perm[i]
		}
		copy(rows, b.perm[:psi])
		b.tree = &f.forest[t]
		b.grow(rows, 1, 0)
	}
	keys := make([]uint64, trees*w)
	for i, v := range thr {
		keys[i] = orderKey(v)
	}
	offs := make([]int, trees*w)
	for i, j := range feat {
		offs[i] = j * rowBlock * 8
	}
	for t := range f.forest {
		f.forest[t].key, f.forest[t].off = keys[t*w:(t+1)*w], offs[t*w:(t+1)*w]
	}
	return nil
}

// builder holds the state of growing trees.
type builder struct {
	f     *IForest
	X     [][]float64
	rng   *rand.Rand
	perm  []int
	feats []int
	tree  *tree
}

// grow builds the subtree over rows at heap index h and the given depth.
func (b *builder) grow(rows []int, h, depth int) {
	f := b.f
	if len(rows) > 1 && depth < f.depth {
		if j, thr, ok := b.split(rows); ok {
			b.tree.thr[h], b.tree.feat[h] = thr, j
			// Partition rows in place: left < thr <= right.
			m := 0
			for i, r := range rows {
				if b.X[r][j] < thr {
					rows[m], rows[i] = rows[i], rows[m]
					m++
				}
			}
			b.grow(rows[:m], 2*h+1, depth+1) // the left child is the odd one
			b.grow(rows[m:], 2*h, depth+1)
			return
		}
	}
	// A leaf: pass rows left down to the bottom, where every leaf under h
	// holds the path length.
	v := float64(depth) + avgPath(len(rows))
	for lo, hi := h, h; ; lo, hi = 2*lo, 2*hi+1 {
		if lo >= f.width {
			for k := lo; k <= hi; k++ {
				b.tree.leaf[k-f.width] = v
			}
			return
		}
		for k := lo; k <= hi; k++ {
			b.tree.thr[k] = math.Inf(1)
		}
	}
}

// split draws a feature that is not constant over rows, in random order,
// and a uniform threshold in its range; ok is false when every feature is
// constant.
func (b *builder) split(rows []int) (j int, thr float64, ok bool) {
	for i := range b.feats {
		b.feats[i] = i
	}
	for n := len(b.feats); n > 0; n-- {
		k := b.rng.IntN(n)
		j = b.feats[k]
		b.feats[k] = b.feats[n-1]
		lo, hi := b.X[rows[0]][j], b.X[rows[0]][j]
		for _, r := range rows[1:] {
			lo, hi = min(lo, b.X[r][j]), max(hi, b.X[r][j])
		}
		if lo == hi {
			continue
		}
		thr = lo + b.rng.Float64()*(hi-lo)
		if thr == lo {
			thr = math.Nextafter(lo, hi) // keep both sides non-empty
		}
		return j, thr, true
	}
	return 0, 0, false
}

// avgPath is c(n), the mean path length of an unsuccessful search in a
// binary search tree of n keys.
func avgPath(n int) float64 {
	switch {
	case n <= 1:
		return 0
	case n == 2:
		return 1
	}
	const euler = 0.5772156649015329
	fn := float64(n)
	return 2*(math.Log(fn-1)+euler) - 2*(fn-1)/fn
}

// Explain implements Detector. An isolation forest has no per-feature
// decomposition, so Deviation.Score is the robust z-score against the
// baseline median.
func (f *IForest) Explain(x []float64) []Deviation {
	mustLen(x, f.d)
	return f.p.explain(x, nil)
}
