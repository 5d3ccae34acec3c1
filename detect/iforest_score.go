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

// ScoreBatch implements BatchScorer. It scores X block by block, and each
// block tree by tree, so that a tree and the block's rows stay in the
// processor's cache while the rows walk it. The block goes down a tree
// one level at a time: a row's step depends only on its own last one, so
// the processor overlaps the steps of many rows, where Score's walk of one
// row waits on each load. It adds the path lengths tree by tree, as it
// always has; Score adds them four trees at a time, so the two may differ
// in the last bit.
func (f *IForest) ScoreBatch(X [][]float64, out []float64) {
	out = out[:len(X)]
	for _, x := range X {
		mustLen(x, f.d)
	}
	n := min(len(X), rowBlock)
	rows, at := make([]float64, n*f.d), make([]int, n)
	for lo := 0; lo < len(X); lo += rowBlock {
		hi := min(lo+rowBlock, len(X))
		for r, x := range X[lo:hi] {
			copy(rows[r*f.d:], x) // one array: the row of node lookups is r*d+feat
		}
		f.scoreBlock(rows[:(hi-lo)*f.d], at[:hi-lo], out[lo:hi])
	}
}

// scoreBlock scores the len(out) rows stored one after the other in rows,
// using at for each row's current node. Every row starts at the root, so
// the first step reads one node for all of them, and the last step adds
// the leaf's path length at once instead of storing the node.
func (f *IForest) scoreBlock(rows []float64, at []int, out []float64) {
	clear(out)
	in := f.inner
	for t := range f.trees {
		tree, leaf := f.tree(t), f.leaf[t*(in+1):(t+1)*(in+1)]
		switch f.depth { // trees of 1 or 2 sample rows have no step between root and leaf
		case 0:
			for r := range out {
				out[r] += leaf[0]
			}
		case 1:
			root(tree[0], at, rows, f.d)
			for r, i := range at {
				out[r] += leaf[i-in]
			}
		default:
			root(tree[0], at, rows, f.d)
			for range f.depth - 2 {
				descend(tree, at, rows, f.d)
			}
			descendLeaf(tree, leaf, at, rows, f.d, out)
		}
	}
	k := -1 / float64(f.trees) / f.norm
	for i, s := range out {
		out[i] = math.Exp2(s * k)
	}
}

// root sets at[r] to the child of the root n that row r of rows goes to,
// as down does.
func root(n inode, at []int, rows []float64, d int) {
	off := n.feat
	for r := range at {
		at[r] = 2 - int(math.Float64bits(rows[off]-n.thr)>>63)
		off += d
	}
}

// descend moves each row r of rows (d values each) from node at[r] of tree
// to its child, as down does. It is kept out of line: inlined into
// scoreBlock, its loop variables were spilled to the stack, and the forest
// scored about a tenth slower.
//
//go:noinline
func descend(tree []inode, at []int, rows []float64, d int) {
	off := 0
	for r, i := range at {
		n := &tree[i]
		lt := int(math.Float64bits(rows[off+n.feat]-n.thr) >> 63)
		at[r] = 2*i + 2 - lt
		off += d
	}
}

// descendLeaf takes each row r of rows from node at[r] of tree to its
// child, a bottom leaf, as descend does, and adds the leaf's path length,
// leaf[i-len(tree)], to out[r].
//
//go:noinline
func descendLeaf(tree []inode, leaf []float64, at []int, rows []float64, d int, out []float64) {
	off := 0
	out = out[:len(at)]
	for r, i := range at {
		n := &tree[i]
		lt := int(math.Float64bits(rows[off+n.feat]-n.thr) >> 63)
		out[r] += leaf[2*i+2-lt-len(tree)]
		off += d
	}
}
