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
//
// The block's values and the thresholds are compared as orderKeys, whose
// unsigned order is lessBit's: a step is an integer subtraction whose
// borrow is added into the doubled node index (SUBQ, ADCQ), where
// lessBit's takes a floating-point subtraction and two moves of its sign.
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
			keys := rows[r*f.d : (r+1)*f.d] // one array: the row of node lookups is r*d+feat
			for j, v := range x[:len(keys)] {
				keys[j] = rowKey(v)
			}
		}
		f.scoreBlock(rows[:(hi-lo)*f.d], at[:hi-lo], out[lo:hi])
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

// blockScratch is ScoreBatch's space for one block: its rows (as rowKeys)
// and their nodes. It is pooled, since the pipeline scores in chunks of a
// few hundred rows and a block's rows, freshly allocated, were most of
// the garbage of scoring.
type blockScratch struct {
	rows []uint64
	at   []uint64
}

func (f *IForest) scratch() *blockScratch {
	if sc, ok := f.pool.Get().(*blockScratch); ok && len(sc.rows) == rowBlock*f.d {
		return sc
	}
	return &blockScratch{rows: make([]uint64, rowBlock*f.d), at: make([]uint64, rowBlock)}
}

// scoreBlock scores the len(out) rows stored one after the other in rows,
// using at for each row's current node. Every row starts at the root, so
// the first step reads one node for all of them, and the last step adds
// the leaf's path length at once instead of storing the node.
func (f *IForest) scoreBlock(rows []uint64, at []uint64, out []float64) {
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
				out[r] += t.leaf[int(i)-f.width]
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

// child returns the child of node i for a row whose key at the node's
// feature is x and the node's key thr, as down does: 2i plus the borrow
// of x-thr, which is 1 when x < thr.
func child(i, x, thr uint64) uint64 {
	_, less := bits.Sub64(x, thr, 0)
	c, _ := bits.Add64(i, i, less)
	return c
}

// root sets at[r] to the child of the root that row r of rows goes to, as
// down does.
func (t *tree) root(at []uint64, rows []uint64, d int) {
	off, thr := t.feat[1], t.key[1]
	for r := range at {
		at[r] = child(1, rows[off], thr)
		off += d
	}
}

// descend moves each row r of rows (d values each) from node at[r] to its
// child, as down does. Node indexes are below len(key), a power of two:
// masking them leaves them unchanged and spares the bounds checks. It is
// kept out of line: inlined into scoreBlock, its loop variables were
// spilled to the stack, and the forest scored about a tenth slower.
//
//go:noinline
func (t *tree) descend(at []uint64, rows []uint64, d int) {
	key := t.key
	if len(key) == 0 || len(t.feat) < len(key) {
		return
	}
	feat, m, off := t.feat[:len(key)], uint64(len(key)-1), 0
	for r, i := range at {
		i &= m
		at[r] = child(i, rows[off+feat[i]], key[i])
		off += d
	}
}

// descend2 takes each row two levels down, as two calls of descend do,
// with fewer instructions a step: the row's node is loaded and stored
// once for the two, and neither the row's values nor the node's feature
// and key take a bounds check or a mask (masks instead of checks were
// about 5% slower). All are in range: rows holds len(at) rows of d
// values, a node's feature is below d, and scoreBlock calls descend2 only
// while two more levels of nodes lie above the leaves, so that a node it
// reads, at[r] or its child, is below len(key). The two steps of a row
// depend on each other, but the processor runs ahead into the next rows'
// steps meanwhile.
//
//go:noinline
func (t *tree) descend2(at []uint64, rows []uint64, d int) {
	if len(t.key) == 0 || len(t.feat) < len(t.key) || len(rows) < len(at)*d {
		return
	}
	key := unsafe.Pointer(unsafe.SliceData(t.key))
	feat := unsafe.Pointer(unsafe.SliceData(t.feat))
	row := unsafe.Pointer(unsafe.SliceData(rows))
	stride := uintptr(d) * 8
	for r, i := range at {
		i = child(i, *(*uint64)(unsafe.Add(row, *(*int)(unsafe.Add(feat, i*8))*8)), *(*uint64)(unsafe.Add(key, i*8)))
		at[r] = child(i, *(*uint64)(unsafe.Add(row, *(*int)(unsafe.Add(feat, i*8))*8)), *(*uint64)(unsafe.Add(key, i*8)))
		row = unsafe.Add(row, stride)
	}
}

// descendLeaf takes each row r of rows from node at[r] to its child, a
// bottom leaf, as descend does, and adds the leaf's path length to
// out[r]: the child's index less width is the index masked to width.
//
//go:noinline
func (t *tree) descendLeaf(at []uint64, rows []uint64, d int, out []float64) {
	key := t.key
	if len(key) == 0 || len(t.feat) < len(key) || len(t.leaf) < len(key) || len(rows) < len(at)*d {
		return
	}
	feat, leaf, m := t.feat[:len(key)], t.leaf[:len(key)], uint64(len(key)-1)
	out = out[:len(at)]
	row := unsafe.Pointer(unsafe.SliceData(rows)) // as descend2 reads it
	stride := uintptr(d) * 8
	for r, i := range at {
		i &= m
		out[r] += leaf[child(i, *(*uint64)(unsafe.Add(row, feat[i]*8)), key[i])&m]
		row = unsafe.Add(row, stride)
	}
}
