//go:build !purego && !amd64.v3

#include "textflag.h"

// log1pc<> holds math.Log1p's constants, and the masks and exponents its
// steps take, for LOG1P.
DATA log1pc<>+0(SB)/8, $0x3fda827999fcef32 // sqrt2m1
DATA log1pc<>+8(SB)/8, $0x3e20000000000000 // small
DATA log1pc<>+16(SB)/8, $0x3c90000000000000 // tiny
DATA log1pc<>+24(SB)/8, $0x4340000000000000 // two53
DATA log1pc<>+32(SB)/8, $0x3fe62e42fee00000 // ln2hi
DATA log1pc<>+40(SB)/8, $0x3dea39ef35793c76 // ln2lo
DATA log1pc<>+48(SB)/8, $0x3fe5555555555593 // lp1
DATA log1pc<>+56(SB)/8, $0x3fd999999997fa04 // lp2
DATA log1pc<>+64(SB)/8, $0x3fd2492494229359 // lp3
DATA log1pc<>+72(SB)/8, $0x3fcc71c51d8e78af // lp4
DATA log1pc<>+80(SB)/8, $0x3fc7466496cb03de // lp5
DATA log1pc<>+88(SB)/8, $0x3fc39a09d078c69f // lp6
DATA log1pc<>+96(SB)/8, $0x3fc2f112df3e5244 // lp7
DATA log1pc<>+104(SB)/8, $0x3ff0000000000000 // one
DATA log1pc<>+112(SB)/8, $0x3fe0000000000000 // half
DATA log1pc<>+120(SB)/8, $0x4000000000000000 // two
DATA log1pc<>+128(SB)/8, $0x3fe5555555555555 // twothirds
DATA log1pc<>+136(SB)/8, $0x000fffffffffffff // mant
DATA log1pc<>+144(SB)/8, $0x0006a09e667f3bcd // sqrt2mant
DATA log1pc<>+152(SB)/8, $0x3ff0000000000000 // exp3ff
DATA log1pc<>+160(SB)/8, $0x3fe0000000000000 // exp3fe
DATA log1pc<>+168(SB)/8, $0x0010000000000000 // bit52
DATA log1pc<>+176(SB)/8, $1023 // bias
DATA log1pc<>+184(SB)/8, $0x7ff0000000000000 // inf
DATA log1pc<>+192(SB)/8, $1 // int1
GLOBL log1pc<>(SB), RODATA|NOPTR, $200

// LOG1P sets Z17 to math.Log1p of each lane of Z16, bit for bit, for
// lanes that are not NaN and not below 0 (HBOS's distances beyond a
// feature's range): every path of Go's log1p (the FreeBSD one) is taken
// in every lane with the same operations in the same order, none fused,
// and masks choose each lane's. It uses Z8 to Z15, Z18 to Z22 and K1 to
// K7 (K0's bits are never read).
#define LOG1P \
	/* x >= Sqrt2M1: u = 1+x below 2**53, else x; k its exponent */ \
	VADDPD.BCST log1pc<>+104(SB), Z16, Z8 \
	VCMPPD.BCST $0x11, log1pc<>+24(SB), Z16, K1 \
	VMOVAPD Z16, Z9 \
	VMOVAPD Z8, K1, Z9 \
	VPSRLQ $52, Z9, Z10 \
	VPSUBQ.BCST log1pc<>+176(SB), Z10, Z10 \
	/* c = 1-(u-x) where k > 0, else x-(u-1); c /= u; 0 from 2**53 */ \
	VBROADCASTSD log1pc<>+104(SB), Z12 \
	VSUBPD Z16, Z9, Z11 \
	VSUBPD Z11, Z12, Z13 \
	VSUBPD Z12, Z9, Z14 \
	VSUBPD Z14, Z16, Z14 \
	VPXORQ Z11, Z11, Z11 \
	VPCMPQ $6, Z11, Z10, K2 \
	VMOVAPD Z13, K2, Z14 \
	VDIVPD Z9, Z14, Z14 \
	VMOVAPD.Z Z14, K1, Z14 \
	/* iu: u's mantissa; normalise u to [Sqrt2/2, Sqrt2) */ \
	VPANDQ.BCST log1pc<>+136(SB), Z9, Z11 \
	VPCMPUQ.BCST $1, log1pc<>+144(SB), Z11, K3 \
	VPORQ.BCST log1pc<>+152(SB), Z11, Z12 \
	VPORQ.BCST log1pc<>+160(SB), Z11, Z13 \
	VMOVAPD Z12, K3, Z13 \
	KNOTB K3, K4 \
	VPADDQ.BCST log1pc<>+192(SB), Z10, K4, Z10 \
	VPBROADCASTQ log1pc<>+168(SB), Z12 \
	VPSUBQ Z11, Z12, Z12 \
	VPSRLQ $2, Z12, Z12 \
	VMOVDQA64 Z12, K4, Z11 \
	VSUBPD.BCST log1pc<>+104(SB), Z13, Z15 \
	/* x < Sqrt2M1: k = 0, f = x, iu = 1 */ \
	VCMPPD.BCST $0x11, log1pc<>+0(SB), Z16, K5 \
	VMOVAPD Z16, K5, Z15 \
	KNOTB K5, K6 \
	VMOVDQA64.Z Z10, K6, Z10 \
	VPBROADCASTQ log1pc<>+192(SB), Z12 \
	VMOVDQA64 Z12, K5, Z11 \
	/* hfsq = 0.5*f*f; kf = float64(k); s = f/(2+f); z = s*s; R */ \
	VMULPD.BCST log1pc<>+112(SB), Z15, Z12 \
	VMULPD Z15, Z12, Z12 \
	VCVTQQ2PD Z10, Z13 \
	VPTESTNMQ Z10, Z10, K5 \
	VADDPD.BCST log1pc<>+120(SB), Z15, Z9 \
	VDIVPD Z9, Z15, Z9 \
	VMULPD Z9, Z9, Z18 \
	VMULPD.BCST log1pc<>+96(SB), Z18, Z19 \
	VADDPD.BCST log1pc<>+88(SB), Z19, Z19 \
	VMULPD Z18, Z19, Z19 \
	VADDPD.BCST log1pc<>+80(SB), Z19, Z19 \
	VMULPD Z18, Z19, Z19 \
	VADDPD.BCST log1pc<>+72(SB), Z19, Z19 \
	VMULPD Z18, Z19, Z19 \
	VADDPD.BCST log1pc<>+64(SB), Z19, Z19 \
	VMULPD Z18, Z19, Z19 \
	VADDPD.BCST log1pc<>+56(SB), Z19, Z19 \
	VMULPD Z18, Z19, Z19 \
	VADDPD.BCST log1pc<>+48(SB), Z19, Z19 \
	VMULPD Z18, Z19, Z19 \
	/* t = s*(hfsq+R); where k == 0 (K5): f - (hfsq - t) */ \
	VADDPD Z19, Z12, Z20 \
	VMULPD Z20, Z9, Z20 \
	VSUBPD Z20, Z12, Z21 \
	VSUBPD Z21, Z15, Z21 \
	/* kl = k*Ln2Lo + c; kh = k*Ln2Hi */ \
	VMULPD.BCST log1pc<>+40(SB), Z13, Z22 \
	VADDPD Z14, Z22, Z22 \
	VMULPD.BCST log1pc<>+32(SB), Z13, Z13 \
	/* else: kh - ((hfsq - (t + kl)) - f) */ \
	VADDPD Z22, Z20, Z17 \
	VSUBPD Z17, Z12, Z17 \
	VSUBPD Z15, Z17, Z17 \
	VSUBPD Z17, Z13, Z17 \
	VMOVAPD Z21, K5, Z17 \
	/* iu == 0 (never where k == 0, which takes 1+x = Sqrt2's */ \
	/* mantissa less an ulp, or x < Sqrt2M1 and iu = 1): */ \
	/* f == 0: kh + (c + k*Ln2Lo); */ \
	/* else kh - ((hfsq*(1 - 2/3 f) - kl) - f) */ \
	VPXORQ Z18, Z18, Z18 \
	VPCMPEQQ Z18, Z11, K7 \
	VMULPD.BCST log1pc<>+128(SB), Z15, Z8 \
	VBROADCASTSD log1pc<>+104(SB), Z10 \
	VSUBPD Z8, Z10, Z10 \
	VMULPD Z10, Z12, Z10 \
	VSUBPD Z22, Z10, Z10 \
	VSUBPD Z15, Z10, Z10 \
	VSUBPD Z10, Z13, Z10 \
	VADDPD Z22, Z13, Z8 \
	VCMPPD $0x00, Z18, Z15, K1 \
	KANDNB K7, K1, K2 \
	KANDB K7, K1, K1 \
	VMOVAPD Z10, K2, Z17 \
	VMOVAPD Z8, K1, Z17 \
	/* x < Small: x - x*x*0.5; x < Tiny: x; +Inf: +Inf */ \
	VCMPPD.BCST $0x11, log1pc<>+8(SB), Z16, K1 \
	VMULPD Z16, Z16, Z8 \
	VMULPD.BCST log1pc<>+112(SB), Z8, Z8 \
	VSUBPD Z8, Z16, Z8 \
	VMOVAPD Z8, K1, Z17 \
	VCMPPD.BCST $0x11, log1pc<>+16(SB), Z16, K1 \
	VMOVAPD Z16, K1, Z17 \
	VPCMPEQQ.BCST log1pc<>+184(SB), Z16, K1 \
	VMOVAPD Z16, K1, Z17

// func hbos8(cols *float64, d int, rng *binRange, cost *float64, bins int, terms *float64, far *uint8, empty *float64)
//
// Eight rows a vector (lanes in row order), feature by feature: a value
// inside its feature's range (lo <= v <= hi, false for NaN) takes its
// bin's cost, as Score does, the bin min(int((v-lo)/width), bins-1), or 0
// where the width is not positive (a constant feature); a value outside
// the range of a feature that is not constant costs, as featureCost
// gives it, empty[j] plus log1p of its distance beyond the range in bins
// (LOG1P). The rest, NaNs (of the value or of the distance) and values
// outside a constant feature's one value, are marked in far[j] (bit l for
// row l) for featureCost, which writes their terms.
TEXT ·hbos8(SB), NOSPLIT, $0-64
	MOVQ cols+0(FP), SI
	MOVQ d+8(FP), CX
	MOVQ rng+16(FP), R8
	MOVQ cost+24(FP), R9
	MOVQ bins+32(FP), R10
	MOVQ terms+40(FP), DI
	MOVQ far+48(FP), R11
	MOVQ empty+56(FP), R14
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
	KORTESTB K3, K3
	JZ inside
	// Beyond the range: empty[j] + log1p(the distance in bins).
	KMOVB K3, BX
	VSUBPD Z1, Z2, Z16          // lo - v
	VSUBPD.BCST 8(R8), Z1, Z17  // v - hi
	VCMPPD $0x11, Z2, Z1, K4    // v < lo (LT_OQ)
	VMOVAPD Z16, K4, Z17
	VDIVPD.BCST 16(R8), Z17, Z16
	VCMPPD $0x03, Z16, Z16, K5  // NaN (UNORD_Q): featureCost's
	KMOVB K5, R13
	LOG1P
	VADDPD.BCST (R14), Z17, Z17
	KMOVB BX, K3
	KMOVB R13, K5
	KANDNB K3, K5, K6
	VMOVAPD Z17, K6, Z7
	MOVB R13, (R11)
	JMP next

inside:
	MOVB $0, (R11)
	JMP next

constant:
	VBROADCASTSD (R9)(R12*8), Z7
	KMOVB K3, AX
	MOVB AX, (R11)

next:
	VMOVUPD Z7, (DI)
	ADDQ $64, SI
	ADDQ $24, R8
	ADDQ R10, R12
	ADDQ $64, DI
	INCQ R11
	ADDQ $8, R14
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

// func log1p8(x *[8]float64, out *[8]float64)
//
// LOG1P of eight values, for the tests.
TEXT ·log1p8(SB), NOSPLIT, $0-16
	MOVQ x+0(FP), SI
	MOVQ out+8(FP), DI
	VMOVUPD (SI), Z16
	LOG1P
	VMOVUPD Z17, (DI)
	VZEROUPPER
	RET
