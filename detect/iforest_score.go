package detect

import (
	"math"
	"math/bits"
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
// before moving on, few enough that they stay in the processor's cache;
// a multiple of the 8 rows topLevels takes at a time.
const rowBlock = 128

// ScoreBatch implements BatchScorer. It scores X block by block, and each
// block tree by tree, so that a tree and the block's rows stay in the
// processor's cache while the rows walk it. The block goes down a tree
// one level at a time: a row's step depends only on its own last one, so
// the processor overlaps the steps of many rows, where Score's walk of one
// row waits on each load. It adds the path lengths tree by tree, as it
// always has; Score adds them four trees at a time, so the two may differ
// in the last bit.
//
// The block's values and the thresholds are compared as orderKeys, whose
// unsigned order is lessBit's: a step is an integer subtraction whose
// borrow is added into the doubled node index (SUBQ, ADCQ), where
// lessBit's takes a floating-point subtraction and two moves of its sign.
// The block is stored feature by feature (a column of rowBlock keys for
// each), so that the top levels of a tree, whose few nodes every row
// passes, read whole columns (see topLevels).
func (f *IForest) ScoreBatch(X [][]float64, out []float64) {
	out = out[:len(X)]
	for _, x := range X {
		mustLen(x, f.d)
	}
	sc := f.scratch()
	defer f.pool.Put(sc)
	cols, at := sc.cols, sc.at
	for lo := 0; lo < len(X); lo += rowBlock {
		hi := min(lo+rowBlock, len(X))
		f.keys(cols, X[lo:hi])
		f.scoreBlock(cols, at[:hi-lo], out[lo:hi])
	}
}

// keys stores the rows of X, at most rowBlock, as rowKeys in the block
// cols, feature by feature (see blockScratch): 8 rows and 8 features at a
// time by transpose8x8 where vectors allow, the rest one by one.
func (f *IForest) keys(cols []uint64, X [][]float64) {
	r := 0
	if vectors && f.d >= 8 {
		var rows [8]*float64
		for ; r+8 <= len(X); r += 8 {
			for l, x := range X[r : r+8] {
				rows[l] = unsafe.SliceData(x)
			}
			transpose8x8(&rows, f.d/8, unsafe.Pointer(&cols[r]), rowBlock*8, true)
			for l, x := range X[r : r+8] {
				for j := f.d &^ 7; j < f.d; j++ {
					cols[j*rowBlock+r+l] = rowKey(x[j])
				}
			}
		}
	}
	for ; r < len(X); r++ {
		for j, v := range X[r][:f.d] {
			cols[j*rowBlock+r] = rowKey(v)
		}
	}
}

// orderKey maps a threshold to a key whose unsigned order is lessBit's
// order of values (see rowKey): the bits of a value with its sign bit
// clear, with the top bit set, and those of one with the sign bit set,
// inverted, so that negative values come below positive ones and order
// the other way, -0 below +0. +Inf, the threshold of the nodes below an
// early leaf (and of a split over a range that overflows), goes to the top
// key, above rowKey's +Inf: lessBit(+Inf, +Inf) is 1 (the NaN of Inf-Inf
// has its sign bit set on amd64).
func orderKey(v float64) uint64 {
	if math.IsInf(v, 1) {
		return math.MaxUint64
	}
	b := math.Float64bits(v)
	if b>>63 != 0 {
		return ^b
	}
	return b | 1<<63
}

// rowKey maps a row's value to a key such that rowKey(x) < orderKey(thr)
// exactly when lessBit(x, thr) is 1, on amd64, for every x and every
// threshold (which is never NaN or -Inf). For finite values and
// infinities it is orderKey's map: a-b is negative exactly when a < b,
// -0-(+0) is -0, and a difference is never 0 for a != b. A NaN's
// difference is that NaN, so its sign bit decides: with it set the key
// goes below every other (^bits, below -Inf's), and clear the NaN goes to
// the top key, below no threshold's.
func rowKey(v float64) uint64 {
	b := math.Float64bits(v)
	if b>>63 != 0 {
		return ^b
	}
	if v != v {
		return math.MaxUint64
	}
	return b | 1<<63
}

// blockScratch is ScoreBatch's space for one block: its keys, column by
// column, and each row's node. It is pooled, since the pipeline scores in
// chunks of a few hundred rows and a block's rows, freshly allocated,
// were most of the garbage of scoring.
type blockScratch struct {
	cols []uint64 // feature j's key of row r at j*rowBlock+r
	at   []uint64
}

func (f *IForest) scratch() *blockScratch {
	if sc, ok := f.pool.Get().(*blockScratch); ok && len(sc.cols) == rowBlock*f.d {
		return sc
	}
	return &blockScratch{cols: make([]uint64, rowBlock*f.d), at: make([]uint64, rowBlock)}
}

// scoreBlock scores the len(out) rows of the block cols (see
// blockScratch), using at for each row's current node. Every row starts
// at the root, so the top levels read few nodes for all of them, and the
// last step adds the leaf's path length at once instead of storing the
// node.
func (f *IForest) scoreBlock(cols []uint64, at []uint64, out []float64) {
	clear(out)
	if len(cols) != rowBlock*f.d || len(at) > rowBlock {
		panic("detect: IForest block of the wrong size") // the descents below rely on it
	}
	for i := range f.forest {
		t := &f.forest[i]
		switch f.depth { // trees of 1 or 2 sample rows have no step between root and leaf
		case 0:
			for r := range out {
				out[r] += t.leaf[0]
			}
		case 1:
			t.root(at, cols)
			for r, i := range at {
				out[r] += t.leaf[int(i)-f.width]
			}
		default:
			mid := f.depth - 1 - t.top(at, cols, f.depth) // levels left above the leaves' parents
			for ; mid >= 2; mid -= 2 {
				t.descend2(at, cols)
			}
			if mid == 1 {
				t.descend(at, cols)
			}
			t.descendLeaf(at, cols, out)
		}
	}
	k := -1 / float64(len(f.forest)) / f.norm
	for i, s := range out {
		out[i] = math.Exp2(s * k)
	}
}

// vectors is whether the detectors score with their AVX-512 kernels
// (topLevels, zscore8) where the processor has them; the tests turn it
// off to check that the code in Go gives the same bits.
var vectors = hasAVX512

// top takes the rows from the root down the top levels of the tree and
// returns how many levels it took: topLevels' when the processor has them
// and the tree is deep enough that a level is left for descendLeaf, else
// the root's one.
func (t *tree) top(at []uint64, cols []uint64, depth int) int {
	if vectors && depth > topDepth && len(t.key) > 1<<topDepth && len(t.off) > 1<<topDepth {
		topLevels(unsafe.SliceData(at[:cap(at)]), (len(at)+7)/8, unsafe.SliceData(cols),
			(*[1 << topDepth]int)(t.off), (*[1 << topDepth]uint64)(t.key))
		return topDepth
	}
	t.root(at, cols)
	return 1
}

// topDepth is the number of levels topLevels takes: 15 nodes, whose keys
// fit two vector registers; a fifth level would read 16 columns for each 8
// rows, as many loads as the scalar steps it would replace.
const topDepth = 4

// child returns the child of node i for a row whose key at the node's
// feature is x and the node's key thr, as down does: 2i plus the borrow
// of x-thr, which is 1 when x < thr.
func child(i, x, thr uint64) uint64 {
	_, less := bits.Sub64(x, thr, 0)
	c, _ := bits.Add64(i, i, less)
	return c
}

// root sets at[r] to the child of the root that row r of cols goes to, as
// down does.
func (t *tree) root(at []uint64, cols []uint64) {
	col, thr := cols[t.off[1]/8:][:len(at)], t.key[1]
	for r, x := range col {
		at[r] = child(1, x, thr)
	}
}

// descend moves each row r of cols from node at[r] to its child, as down
// does. Node indexes are below len(key), a power of two: masking them
// leaves them unchanged and spares the bounds checks; a node's column
// offset is below len(cols)*8-rowBlock*8 (see tree.off), and r below
// rowBlock (scoreBlock checks both lengths). It is kept out of line:
// inlined into scoreBlock, its loop variables were spilled to the stack,
// and the forest scored about a tenth slower.
//
//go:noinline
func (t *tree) descend(at []uint64, cols []uint64) {
	key := t.key
	if len(key) == 0 || len(t.off) < len(key) {
		return
	}
	off, m := t.off[:len(key)], uint64(len(key)-1)
	col := unsafe.Pointer(unsafe.SliceData(cols))
	for r, i := range at {
		i &= m
		at[r] = child(i, *(*uint64)(unsafe.Add(col, off[i]+r*8)), key[i])
	}
}

// descend2 takes each row two levels down, as two calls of descend do,
// with fewer instructions a step: the row's node is loaded and stored
// once for the two, and neither the row's key nor the node's column and
// key take a bounds check or a mask (masks instead of checks were about
// 5% slower). All are in range: see descend for the keys, and scoreBlock
// calls descend2 only while two more levels of nodes lie above the
// leaves, so that a node it reads, at[r] or its child, is below len(key).
// The two steps of a row depend on each other, but the processor runs
// ahead into the next rows' steps meanwhile.
//
//go:noinline
func (t *tree) descend2(at []uint64, cols []uint64) {
	if len(t.key) == 0 || len(t.off) < len(t.key) {
		return
	}
	key := unsafe.Pointer(unsafe.SliceData(t.key))
	off := unsafe.Pointer(unsafe.SliceData(t.off))
	col := unsafe.Pointer(unsafe.SliceData(cols))
	for r, i := range at {
		i = child(i, *(*uint64)(unsafe.Add(col, *(*int)(unsafe.Add(off, i*8)))), *(*uint64)(unsafe.Add(key, i*8)))
		at[r] = child(i, *(*uint64)(unsafe.Add(col, *(*int)(unsafe.Add(off, i*8)))), *(*uint64)(unsafe.Add(key, i*8)))
		col = unsafe.Add(col, 8)
	}
}

// descendLeaf takes each row r of cols from node at[r] to its child, a
// bottom leaf, as descend does, and adds the leaf's path length to
// out[r]: the child's index less width is the index masked to width.
//
//go:noinline
func (t *tree) descendLeaf(at []uint64, cols []uint64, out []float64) {
	key := t.key
	if len(key) == 0 || len(t.off) < len(key) || len(t.leaf) < len(key) {
		return
	}
	off, leaf, m := t.off[:len(key)], t.leaf[:len(key)], uint64(len(key)-1)
	out = out[:len(at)]
	col := unsafe.Pointer(unsafe.SliceData(cols)) // as descend reads it
	for r, i := range at {
		i &= m
		out[r] += leaf[child(i, *(*uint64)(unsafe.Add(col, off[i])), key[i])&m]
		col = unsafe.Add(col, 8)
	}
}
