//go:build !purego && !amd64.v3

#include "textflag.h"

DATA zcap<>+0(SB)/8, $1000.0
DATA zcap<>+8(SB)/8, $0x7fffffffffffffff
GLOBL zcap<>(SB), RODATA|NOPTR, $16

// func zscore8(cols *float64, d int, med *float64, scale *float64, out *[8]float64)
//
// Eight rows a vector (lanes in row order), feature by feature as Score
// adds them: a row's term is d/sc where sc > 0 and d < zCap*sc (d the
// value's distance from the median), else profile.z's: 0 where d is 0,
// zCap otherwise (a NaN's too). The comparisons are ordered, false for
// NaN, as Go's are; the sum over features, divided by d, goes to out.
TEXT ·zscore8(SB), NOSPLIT, $0-40
	MOVQ cols+0(FP), SI
	MOVQ d+8(FP), CX
	MOVQ med+16(FP), R8
	MOVQ scale+24(FP), R9
	MOVQ out+32(FP), DI
	VBROADCASTSD zcap<>+0(SB), Z30
	VPBROADCASTQ zcap<>+8(SB), Z29
	VPXORQ Z28, Z28, Z28 // zeros
	VPXORQ Z0, Z0, Z0    // the sums
	CVTSQ2SD CX, X7
	TESTQ CX, CX
	JLE done

feature:
	VMOVUPD (SI), Z1
	VBROADCASTSD (R8), Z2
	VBROADCASTSD (R9), Z3
	VSUBPD Z2, Z1, Z1
	VPANDQ Z29, Z1, Z1      // d = |x - median|
	VMULPD Z30, Z3, Z4      // zCap*sc
	VCMPPD $0x11, Z4, Z1, K1 // d < zCap*sc (LT_OQ)
	VCMPPD $0x1e, Z28, Z3, K2 // sc > 0 (GT_OQ)
	KANDB K1, K2, K1
	VDIVPD Z3, Z1, Z5       // d/sc
	VCMPPD $0x04, Z28, Z1, K3 // d != 0, or NaN (NEQ_UQ)
	VMOVAPD.Z Z30, K3, Z6   // profile.z: zCap, or 0 where d is 0
	VMOVAPD Z5, K1, Z6
	VADDPD Z6, Z0, Z0
	ADDQ $64, SI
	ADDQ $8, R8
	ADDQ $8, R9
	DECQ CX
	JNZ feature

done:
	VBROADCASTSD X7, Z7
	VDIVPD Z7, Z0, Z0
	VMOVUPD Z0, (DI)
	VZEROUPPER
	RET
