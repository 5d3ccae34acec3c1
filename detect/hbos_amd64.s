//go:build !purego

#include "textflag.h"

// func hbos8(cols *float64, d int, rng *binRange, cost *float64, bins int, terms *float64, far *uint8)
//
// Eight rows a vector (lanes in row order), feature by feature: a value
// inside its feature's range (lo <= v <= hi, false for NaN) takes its
// bin's cost, as Score does, the bin min(int((v-lo)/width), bins-1), or 0
// where the width is not positive (a constant feature); the rest are
// marked in far[j] (bit l for row l) for featureCost, which writes their
// terms.
TEXT ·hbos8(SB), NOSPLIT, $0-56
	MOVQ cols+0(FP), SI
	MOVQ d+8(FP), CX
	MOVQ rng+16(FP), R8
	MOVQ cost+24(FP), R9
	MOVQ bins+32(FP), R10
	MOVQ terms+40(FP), DI
	MOVQ far+48(FP), R11
	LEAQ -1(R10), AX
	VPBROADCASTQ AX, Z31 // the last bin
	XORQ R12, R12        // j*bins
	TESTQ CX, CX
	JLE done

feature:
	VMOVUPD (SI), Z1
	VBROADCASTSD 0(R8), Z2
	VCMPPD.BCST $0x12, 8(R8), Z1, K2 // v <= hi (LE_OQ)
	VCMPPD $0x1d, Z2, Z1, K1          // v >= lo (GE_OQ)
	KANDB K1, K2, K1
	KNOTB K1, K3
	KMOVB K3, AX
	MOVB AX, (R11)
	MOVQ 16(R8), AX
	TESTQ AX, AX
	JLE constant
	VSUBPD Z2, Z1, Z5
	VDIVPD.BCST 16(R8), Z5, Z5
	VCVTTPD2QQ Z5, Z5
	VPMINSQ Z31, Z5, Z5
	VPBROADCASTQ R12, Z6
	VPADDQ Z6, Z5, Z5
	VGATHERQPD (R9)(Z5*8), K1, Z7
	JMP next

constant:
	VBROADCASTSD (R9)(R12*8), Z7

next:
	VMOVUPD Z7, (DI)
	ADDQ $64, SI
	ADDQ $24, R8
	ADDQ R10, R12
	ADDQ $64, DI
	INCQ R11
	DECQ CX
	JNZ feature

done:
	VZEROUPPER
	RET

// func sum8(terms *float64, d int, out *[8]float64)
//
// out[l] is the sum of terms[8j+l] over j in order, from 0: eight rows'
// sums side by side, each in Score's order.
TEXT ·sum8(SB), NOSPLIT, $0-24
	MOVQ terms+0(FP), SI
	MOVQ d+8(FP), CX
	MOVQ out+16(FP), DI
	VPXORQ Z0, Z0, Z0
	TESTQ CX, CX
	JLE store

add:
	VADDPD (SI), Z0, Z0
	ADDQ $64, SI
	DECQ CX
	JNZ add

store:
	VMOVUPD Z0, (DI)
	VZEROUPPER
	RET
