//go:build !purego

package detect

import "golang.org/x/sys/cpu"

// hasTopLevels is whether the processor runs topLevels: it takes AVX-512.
var hasTopLevels = cpu.X86.HasAVX512F

// topLevels takes the rows of groups groups of 8 in the block at cols (see
// blockScratch) from the root down the tree's top topDepth levels, and
// writes each row's node at the fifth level to at: 8 rows a vector, a
// level a step for all 8 (see iforest_top_amd64.s). off and key are the
// tree's first 16 nodes' column offsets and keys; at and the block must
// hold groups*8 rows.
//
//go:noescape
func topLevels(at *uint64, groups int, cols *uint64, off *[1 << topDepth]int, key *[1 << topDepth]uint64)
