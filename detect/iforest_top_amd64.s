//go:build !purego && !amd64.v3

#include "textflag.h"

// nodes<> holds the node indexes 0 to 15, to find the rows at a node with
// one comparison of a vector of nodes against one broadcast.
DATA nodes<>+0(SB)/8, $0
DATA nodes<>+8(SB)/8, $1
DATA nodes<>+16(SB)/8, $2
DATA nodes<>+24(SB)/8, $3
DATA nodes<>+32(SB)/8, $4
DATA nodes<>+40(SB)/8, $5
DATA nodes<>+48(SB)/8, $6
DATA nodes<>+56(SB)/8, $7
DATA nodes<>+64(SB)/8, $8
DATA nodes<>+72(SB)/8, $9
DATA nodes<>+80(SB)/8, $10
DATA nodes<>+88(SB)/8, $11
DATA nodes<>+96(SB)/8, $12
DATA nodes<>+104(SB)/8, $13
DATA nodes<>+112(SB)/8, $14
DATA nodes<>+120(SB)/8, $15
GLOBL nodes<>(SB), RODATA|NOPTR, $128

// NODE loads into Z1 the key of each row at node n (K2), from the node's
// column.
#define NODE(n) \
	VPCMPEQQ.BCST (n*8)(R11), Z0, K2 \
	MOVQ (n*8)(R8), AX \
	VMOVDQU64 (SI)(AX*1), K2, Z1

// STEP moves each row to the child of its node, Z0, whose key the node's
// index chooses in keys, as child does.
#define STEP(keys) \
	VPERMQ keys, Z0, Z2 \
	VPCMPUQ $1, Z2, Z1, K1 \
	VPADDQ Z0, Z0, Z0 \
	VPADDQ Z27, Z0, K1, Z0

// func topLevels(at *uint64, groups int, cols *uint64, off *[16]int, key *[16]uint64)
//
// Eight rows a vector (Z0 their nodes, lanes in row order), it takes the
// steps of down for the tree's levels 0 to 3: at a level, for each of its
// nodes, the rows at the node (K2) load their key from the node's column
// (masked VMOVDQU64: every row is at one node, so the level's loads fill
// the vector), the nodes' keys come from a register by the node index
// (VPERMQ: the low three bits choose among the eight keys of Z20, nodes 0
// to 7, or of Z21, 8 to 15), and the child is 2i plus whether the row's
// key is below the node's, unsigned (VPCMPUQ $1), as child computes it.
TEXT ·topLevels(SB), NOSPLIT, $0-40
	MOVQ at+0(FP), DI
	MOVQ groups+8(FP), CX
	MOVQ cols+16(FP), SI
	MOVQ off+24(FP), R8
	MOVQ key+32(FP), R9
	TESTQ CX, CX
	JLE done
	VMOVDQU64 (R9), Z20
	VMOVDQU64 64(R9), Z21
	VPBROADCASTQ nodes<>+8(SB), Z27 // ones
	VPBROADCASTQ 8(R9), Z22         // the root's key
	MOVQ 8(R8), R10                 // the root's column
	LEAQ nodes<>(SB), R11

group:
	// Level 0: every row at the root.
	VMOVDQU64 (SI)(R10*1), Z1
	VPCMPUQ $1, Z22, Z1, K1
	VPADDQ Z27, Z27, Z0
	VPADDQ Z27, Z0, K1, Z0

	NODE(2); NODE(3)
	STEP(Z20)
	NODE(4); NODE(5); NODE(6); NODE(7)
	STEP(Z20)
	NODE(8); NODE(9); NODE(10); NODE(11); NODE(12); NODE(13); NODE(14); NODE(15)
	STEP(Z21)

	VMOVDQU64 Z0, (DI)
	ADDQ $64, DI
	ADDQ $64, SI
	DECQ CX
	JNZ group
	VZEROUPPER

done:
	RET
