package detect

import "math"

// Score implements Detector. It walks four trees at a time, level by
// level, so that the processor overlaps their loads.
func (f *IForest) Score(x []float64) float64 {
	mustLen(x, f.d)
	in, sum, t := f.inner, 0.0, 0
	for ; t+4 <= f.trees; t += 4 {
		ta, tb, tc, td := f.tree(t), f.tree(t+1), f.tree(t+2), f.tree(t+3)
		a, b, c, d := 0, 0, 0, 0
		for range f.depth {
			a, b, c, d = down(ta, a, x), down(tb, b, x), down(tc, c, x), down(td, d, x)
		}
		l := f.leaf[t*(in+1) : (t+4)*(in+1)]
		sum += l[a-in] + l[b+1] + l[c+in+2] + l[d+2*in+3] // tree k's leaves start at k*(in+1)
	}
	for ; t < f.trees; t++ {
		tree, i := f.tree(t), 0
		for range f.depth {
			i = down(tree, i, x)
		}
		sum += f.leaf[t*(in+1)+i-in]
	}
	return math.Exp2(-sum / float64(f.trees) / f.norm)
}

// tree returns the inner nodes of tree t, in heap order.
func (f *IForest) tree(t int) []inode { return f.nodes[t*f.inner : (t+1)*f.inner] }

// down returns the heap index of the child of node i of tree that x goes
// to: the left one, 2i+1, when x[feat] < thr, else 2i+2. It takes the sign
// bit of the difference instead of comparing, so that the walk has no
// branch to mispredict: for finite values a-b is negative exactly when
// a < b, and x - (+Inf) is -Inf.
func down(tree []inode, i int, x []float64) int {
	n := &tree[i]
	lt := int(math.Float64bits(x[n.feat]-n.thr) >> 63)
	return 2*i + 2 - lt
}

// rowBlock is the number of rows ScoreBatch walks through each tree
// before moving on, few enough that they stay in the processor's cache.
const rowBlock = 128

// ScoreBatch implements BatchScorer: it scores X block by block and each
// block tree by tree, so that a tree and the block's rows stay in the
// processor's cache while the rows walk it, four at a time.
func (f *IForest) ScoreBatch(X [][]float64, out []float64) {
	out = out[:len(X)]
	for _, x := range X {
		mustLen(x, f.d)
	}
	for lo := 0; lo < len(X); lo += rowBlock {
		hi := min(lo+rowBlock, len(X))
		f.scoreBlock(X[lo:hi], out[lo:hi])
	}
}

func (f *IForest) scoreBlock(X [][]float64, out []float64) {
	clear(out)
	in := f.inner
	for t := range f.trees {
		tree, leaf := f.tree(t), f.leaf[t*(in+1):(t+1)*(in+1)]
		r := 0
		for ; r+4 <= len(X); r += 4 {
			xa, xb, xc, xd := X[r], X[r+1], X[r+2], X[r+3]
			a, b, c, d := 0, 0, 0, 0
			for range f.depth {
				a, b, c, d = down(tree, a, xa), down(tree, b, xb), down(tree, c, xc), down(tree, d, xd)
			}
			out[r] += leaf[a-in]
			out[r+1] += leaf[b-in]
			out[r+2] += leaf[c-in]
			out[r+3] += leaf[d-in]
		}
		for ; r < len(X); r++ {
			i := 0
			for range f.depth {
				i = down(tree, i, X[r])
			}
			out[r] += leaf[i-in]
		}
	}
	k := -1 / float64(f.trees) / f.norm
	for i, s := range out {
		out[i] = math.Exp2(s * k)
	}
}
