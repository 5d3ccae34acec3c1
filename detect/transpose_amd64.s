//go:build !purego && !amd64.v3

#include "textflag.h"

DATA trc<>+0(SB)/8, $0x8000000000000000
GLOBL trc<>(SB), RODATA|NOPTR, $8

// KEY turns the 8 values of z into rowKeys: z XOR (its sign spread OR
// the sign bit), then all ones where z is a NaN with its sign bit clear.
#define KEY(z) \
	VPSRAQ $63, z, Z24 \
	VPORQ Z30, Z24, Z24 \
	VCMPPD $0x03, z, z, K1 \
	VPMOVQ2M z, K2 \
	KANDNB K1, K2, K1 \
	VPXORQ Z24, z, z \
	VMOVDQA64 Z31, K1, z

// func transpose8x8(rows *[8]*float64, blocks int, dst unsafe.Pointer, stride int, keys bool)
//
// For each of blocks blocks of 8 features, from the rows' first, it loads
// the 8 rows' values (Z0 to Z7), transposes them in registers (pairs of
// quadwords by VPUNPCK*QDQ, then 128-bit lanes by VSHUFI64X2 twice), and
// stores feature j's 8 values at dst+j*stride; with keys, as rowKeys: the
// bits with the top bit flipped, or all inverted where the sign bit is set,
// and all ones for a NaN whose sign bit is clear.
TEXT ·transpose8x8(SB), NOSPLIT, $0-33
	MOVQ rows+0(FP), AX
	MOVQ blocks+8(FP), CX
	MOVQ dst+16(FP), DI
	MOVQ stride+24(FP), DX
	MOVBLZX keys+32(FP), BX
	MOVQ 0(AX), R8
	MOVQ 8(AX), R9
	MOVQ 16(AX), R10
	MOVQ 24(AX), R11
	MOVQ 32(AX), R12
	MOVQ 40(AX), R13
	MOVQ 48(AX), R14
	MOVQ 56(AX), R15
	VPBROADCASTQ trc<>+0(SB), Z30 // the sign bit
	VPTERNLOGQ $0xff, Z31, Z31, Z31 // all ones
	XORQ SI, SI                     // the block's offset in the rows
	TESTQ CX, CX
	JLE done

block:
	VMOVDQU64 (R8)(SI*1), Z0
	VMOVDQU64 (R9)(SI*1), Z1
	VMOVDQU64 (R10)(SI*1), Z2
	VMOVDQU64 (R11)(SI*1), Z3
	VMOVDQU64 (R12)(SI*1), Z4
	VMOVDQU64 (R13)(SI*1), Z5
	VMOVDQU64 (R14)(SI*1), Z6
	VMOVDQU64 (R15)(SI*1), Z7
	// Pairs: T0 = r0[0] r1[0] r0[2] r1[2] ..., T1 = r0[1] r1[1] ...
	VPUNPCKLQDQ Z1, Z0, Z8
	VPUNPCKHQDQ Z1, Z0, Z9
	VPUNPCKLQDQ Z3, Z2, Z10
	VPUNPCKHQDQ Z3, Z2, Z11
	VPUNPCKLQDQ Z5, Z4, Z12
	VPUNPCKHQDQ Z5, Z4, Z13
	VPUNPCKLQDQ Z7, Z6, Z14
	VPUNPCKHQDQ Z7, Z6, Z15
	// Lanes 0,1 and 2,3 of rows 0-3 and of rows 4-7.
	VSHUFI64X2 $0x44, Z10, Z8, Z16
	VSHUFI64X2 $0xee, Z10, Z8, Z17
	VSHUFI64X2 $0x44, Z14, Z12, Z18
	VSHUFI64X2 $0xee, Z14, Z12, Z19
	VSHUFI64X2 $0x44, Z11, Z9, Z20
	VSHUFI64X2 $0xee, Z11, Z9, Z21
	VSHUFI64X2 $0x44, Z15, Z13, Z22
	VSHUFI64X2 $0xee, Z15, Z13, Z23
	// Features 0, 2, 4, 6 and 1, 3, 5, 7 of the block.
	VSHUFI64X2 $0x88, Z18, Z16, Z0
	VSHUFI64X2 $0xdd, Z18, Z16, Z2
	VSHUFI64X2 $0x88, Z19, Z17, Z4
	VSHUFI64X2 $0xdd, Z19, Z17, Z6
	VSHUFI64X2 $0x88, Z22, Z20, Z1
	VSHUFI64X2 $0xdd, Z22, Z20, Z3
	VSHUFI64X2 $0x88, Z23, Z21, Z5
	VSHUFI64X2 $0xdd, Z23, Z21, Z7
	TESTQ BX, BX
	JZ store
	KEY(Z0)
	KEY(Z1)
	KEY(Z2)
	KEY(Z3)
	KEY(Z4)
	KEY(Z5)
	KEY(Z6)
	KEY(Z7)

store:
	MOVQ DI, AX
	VMOVDQU64 Z0, (AX)
	ADDQ DX, AX
	VMOVDQU64 Z1, (AX)
	ADDQ DX, AX
	VMOVDQU64 Z2, (AX)
	ADDQ DX, AX
	VMOVDQU64 Z3, (AX)
	ADDQ DX, AX
	VMOVDQU64 Z4, (AX)
	ADDQ DX, AX
	VMOVDQU64 Z5, (AX)
	ADDQ DX, AX
	VMOVDQU64 Z6, (AX)
	ADDQ DX, AX
	VMOVDQU64 Z7, (AX)
	ADDQ DX, AX
	MOVQ AX, DI
	ADDQ $64, SI
	DECQ CX
	JNZ block

done:
	VZEROUPPER
	RET
