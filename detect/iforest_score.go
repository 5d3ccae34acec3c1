package detect

import (
	"math"
	"unsafe"
)

// Score implements Detector. It walks four trees at a time, level by
// level, so that the processor overlaps their loads.
func (f *IForest) Score(x []float64) float64 {
	mustLen(x, f.d)
	w, sum, t := f.width, 0.0, 0
	for ; t+4 <= len(f.forest); t += 4 {
		ta, tb, tc, td := &f.forest[t], &f.forest[t+1], &f.forest[t+2], &f.forest[t+3]
		a, b, c, d := 1, 1, 1, 1
		for range f.depth {
			a, b, c, d = ta.down(a, x), tb.down(b, x), tc.down(c, x), td.down(d, x)
		}
		sum += ta.leaf[a-w] + tb.leaf[b-w] + tc.leaf[c-w] + td.leaf[d-w]
	}
	for ; t < len(f.forest); t++ {
		tr, i := &f.forest[t], 1
		for range f.depth {
			i = tr.down(i, x)
		}
		sum += tr.leaf[i-w]
	}
	return math.Exp2(-sum / float64(len(f.forest)) / f.norm)
}

// down returns the index of the child of node i that x goes to: the left
// one, 2i+1, when x[feat] < thr, else 2i.
func (t *tree) down(i int, x []float64) int {
	return 2*i + lessBit(x[t.feat[i]], t.thr[i])
}

// lessBit is 1 when a-b has its sign bit set and 0 otherwise, so that a
// child, 2i plus it, takes no branch to mispredict and one instruction to
// find: for finite values a-b is negative exactly when a < b, and a -
// (+Inf) is -Inf.
func lessBit(a, b float64) int { return int(math.Float64bits(a-b) >> 63) }

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
	sc := f.scratch()
	defer f.pool.Put(sc)
	rows, at := sc.rows, sc.at
	for lo := 0; lo < len(X); lo += rowBlock {
		hi := min(lo+rowBlock, len(X))
		for r, x := range X[lo:hi] {
			copy(rows[r*f.d:], x) // one array: the row of node lookups is r*d+feat
		}
		f.scoreBlock(rows[:(hi-lo)*f.d], at[:hi-lo], out[lo:hi])
	}
}

// blockScratch is ScoreBatch's space for one block: its rows and their
// nodes. It is pooled, since the pipeline scores in chunks of a few
// hundred rows and a block's rows, freshly allocated, were most of the
// garbage of scoring.
type blockScratch struct {
	rows []float64
	at   []int
}

func (f *IForest) scratch() *blockScratch {
	if sc, ok := f.pool.Get().(*blockScratch); ok && len(sc.rows) == rowBlock*f.d {
		return sc
	}
	return &blockScratch{rows: make([]float64, rowBlock*f.d), at: make([]int, rowBlock)}
}

// scoreBlock scores the len(out) rows stored one after the other in rows,
// using at for each row's current node. Every row starts at the root, so
// the first step reads one node for all of them, and the last step adds
// the leaf's path length at once instead of storing the node.
func (f *IForest) scoreBlock(rows []float64, at []int, out []float64) {
	clear(out)
	for i := range f.forest {
		t := &f.forest[i]
		switch f.depth { // trees of 1 or 2 sample rows have no step between root and leaf
		case 0:
			for r := range out {
				out[r] += t.leaf[0]
			}
		case 1:
			t.root(at, rows, f.d)
			for r, i := range at {
				out[r] += t.leaf[i-f.width]
			}
		default:
			t.root(at, rows, f.d)
			mid := f.depth - 2
			for ; mid >= 2; mid -= 2 {
				t.descend2(at, rows, f.d)
			}
			if mid == 1 {
				t.descend(at, rows, f.d)
			}
			t.descendLeaf(at, rows, f.d, out)
		}
	}
	k := -1 / float64(len(f.forest)) / f.norm
	for i, s := range out {
		out[i] = math.Exp2(s * k)
	}
}

// root sets at[r] to the child of the root that row r of rows goes to, as
// down does.
func (t *tree) root(at []int, rows []float64, d int) {
	off, thr := t.feat[1], t.thr[1]
	for r := range at {
		at[r] = 2 + lessBit(rows[off], thr)
		off += d
	}
}

// descend moves each row r of rows (d values each) from node at[r] to its
// child, as down does. Node indexes are below len(thr), a power of two:
// masking them leaves them unchanged and spares the bounds checks. It is
// kept out of line: inlined into scoreBlock, its loop variables were
// spilled to the stack, and the forest scored about a tenth slower.
//
//go:noinline
func (t *tree) descend(at []int, rows []float64, d int) {
	thr := t.thr
	if len(thr) == 0 {
		return
	}
	feat, m, off := t.feat[:len(thr)], len(thr)-1, 0
	for r, i := range at {
		i &= m
		at[r] = 2*i + lessBit(rows[off+feat[i]], thr[i])
		off += d
	}
}

// descend2 takes each row two levels down, as two calls of descend do,
// with fewer instructions a step: the row's node is loaded and stored
// once for the two, and the row's values are read without a bounds check
// (rows holds len(at) rows of d values, and a node's feature is below d).
// The two steps of a row depend on each other, but the processor runs
// ahead into the next rows' steps meanwhile.
//
//go:noinline
func (t *tree) descend2(at []int, rows []float64, d int) {
	thr := t.thr
	if len(thr) == 0 || len(rows) < len(at)*d {
		return
	}
	feat, m := t.feat[:len(thr)], len(thr)-1
	row := unsafe.Pointer(unsafe.SliceData(rows))
	stride := uintptr(d) * 8
	for r, i := range at {
		i &= m
		i = (2*i + lessBit(*(*float64)(unsafe.Add(row, feat[i]*8)), thr[i])) & m
		at[r] = 2*i + lessBit(*(*float64)(unsafe.Add(row, feat[i]*8)), thr[i])
		row = unsafe.Add(row, stride)
	}
}

// descendLeaf takes each row r of rows from node at[r] to its child, a
// bottom leaf, as descend does, and adds the leaf's path length to
// out[r]: the child's index less width is the index masked to width.
//
//go:noinline
func (t *tree) descendLeaf(at []int, rows []float64, d int, out []float64) {
	thr := t.thr
	if len(thr) == 0 || len(rows) < len(at)*d {
		return
	}
	feat, leaf, m := t.feat[:len(thr)], t.leaf[:len(thr)], len(thr)-1
	out = out[:len(at)]
	row := unsafe.Pointer(unsafe.SliceData(rows)) // as descend2 reads it
	stride := uintptr(d) * 8
	for r, i := range at {
		i &= m
		out[r] += leaf[(2*i+lessBit(*(*float64)(unsafe.Add(row, feat[i]*8)), thr[i]))&m]
		row = unsafe.Add(row, stride)
	}
}
