//go:build !purego && !amd64.v3

package detect

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// hasAVX512 is whether the processor runs the detectors' AVX-512 kernels
// (topLevels, zscore8, hbos8, sum8, ecod8, transpose8x8). They take
// AVX-512 F and DQ.
// They are left out of builds for GOAMD64=v3 and above, where the
// compiler fuses a multiplication and an addition in Go (math.Log1p's
// among them) that hbos8's LOG1P takes apart.
var hasAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ

// topLevels takes the rows of groups groups of 8 in the block at cols (see
// blockScratch) from the root down the tree's top topDepth levels, and
// writes each row's node at the level below to at: 8 rows a vector, a
// level a step for all 8 (see iforest_top_amd64.s). off and key are the
// tree's first 16 nodes' column offsets and keys; at and the block must
// hold groups*8 rows.
//
//go:noescape
func topLevels(at *uint64, groups int, cols *uint64, off *[1 << topDepth]int, key *[1 << topDepth]uint64)

// zscore8 scores 8 rows stored feature by feature in cols (d features,
// feature j's values at cols[8j:8j+8]) as ZScore.Score does, bit for bit,
// into out (see zscore_amd64.s).
//
//go:noescape
func zscore8(cols *float64, d int, med *float64, scale *float64, out *[8]float64)

// hbos8 writes the cost of each of 8 rows' values stored feature by
// feature in cols (as zscore8 takes them) to terms, in the same layout,
// as HBOS.Score and featureCost find it: inside the feature's bins, and
// beyond the range of a feature that is not constant (empty[j] plus
// math.Log1p of the distance in bins, bit for bit). For the rest (NaNs,
// and values off a constant feature's one value) it sets bit l of far[j]
// (row l, feature j) and leaves the term to featureCost (see
// hbos_amd64.s).
//
//go:noescape
func hbos8(cols *float64, d int, rng *binRange, cost *float64, bins int, terms *float64, far *uint8, empty *float64)

// log1p8 sets out[l] to math.Log1p(x[l]), bit for bit, for x[l] that are
// not NaN and not below 0: hbos8's LOG1P, for the tests.
//
//go:noescape
func log1p8(x *[8]float64, out *[8]float64)

// sum8 writes to out[l] the sum over j, in order from 0, of terms[8j+l].
//
//go:noescape
func sum8(terms *float64, d int, out *[8]float64)

// ecod8 adds the left tails, the right tails and the tails on each
// feature's side of 8 rows stored feature by feature in cols (as zscore8
// takes them), as ECOD.Score does, into sums[0], sums[1] and sums[2]
// (see ecod_amd64.s); scratch holds d pairs of vectors for its first pass.
//
//go:noescape
func ecod8(cols *float64, d int, feat *ecdf, odd *int, sums *[3][8]float64, scratch *[2][8]uint64)

// transpose8x8 stores blocks blocks of 8 features of the 8 rows, from
// their first, feature by feature: feature j's values of rows 0 to 7 at
// dst+j*stride, as rowKeys with keys (see transpose_amd64.s).
//
//go:noescape
func transpose8x8(rows *[8]*float64, blocks int, dst unsafe.Pointer, stride int, keys bool)
