//go:build !purego && !amd64.v3

#include "go_asm.h"
#include "textflag.h"

DATA ecodc<>+0(SB)/8, $1
DATA ecodc<>+8(SB)/8, $2
DATA ecodc<>+16(SB)/8, $4
DATA ecodc<>+24(SB)/8, $0x7fffffffffffffff
DATA ecodc<>+32(SB)/8, $0x7ff8000000000000
GLOBL ecodc<>(SB), RODATA|NOPTR, $40

// COUNT takes a step of the count in the lanes K4 (k < len(u)): the lanes
// whose value u[k] counts (v-u[k] has its sign bit clear), K6, go on to
// k+1 and keep u[k] in Z9.
#define COUNT \
	KMOVB K4, K5 \
	VPGATHERQQ (R10)(Z5*8), K5, Z7 \
	VSUBPD Z7, Z1, Z8 \
	VPCMPQ $5, Z28, Z8, K4, K6 \
	VPADDQ Z24, Z5, K6, Z5 \
	VMOVDQA64 Z7, K6, Z9

// func ecod8(cols *float64, d int, feat *ecdf, odd *int, sums *[3][8]float64, scratch *[2][8]uint64)
//
// Eight rows a vector (lanes in row order), the steps of ecdf.first and
// ecdf.tailsFrom, each lane its row's, in two passes over the features,
// as ECOD.Score takes them: the first, without a branch, so that the
// processor fetches every feature's tables at once, finds the bucket (the
// cases of ecdf.bucket as masks) and k = start[b]+1, counts u[k] where
// k < len(u) and v-u[k] has its sign bit clear, and keeps k and the last
// value counted (NaN for none) in scratch[j]. The second goes on counting
// in the lanes that counted, while any does; a lane that counted none is
// above the last value of the buckets before its own, never equal to it,
// and u[0] is NaN. The pair of tails is then at 4(k-1), less 2 where v
// equals the last value counted (their difference is ±0), and the sums of
// the left tails, the right ones and each feature's side (odd[j]&1) go to
// sums[0], [1] and [2], added in the order of the features as Score adds
// them.
TEXT ·ecod8(SB), NOSPLIT, $0-48
	MOVQ cols+0(FP), SI
	MOVQ d+8(FP), CX
	MOVQ feat+16(FP), R8
	MOVQ odd+24(FP), DX
	MOVQ sums+32(FP), DI
	MOVQ scratch+40(FP), BX
	VPBROADCASTQ ecodc<>+0(SB), Z24 // 1
	VPBROADCASTQ ecodc<>+8(SB), Z25 // 2
	VPBROADCASTQ ecodc<>+16(SB), Z26 // 4
	VPBROADCASTQ ecodc<>+24(SB), Z27 // the bits but the sign
	VPBROADCASTQ ecodc<>+32(SB), Z23 // NaN
	VPXORQ Z28, Z28, Z28 // zeros
	VPXORQ Z13, Z13, Z13 // left
	VPXORQ Z14, Z14, Z14 // right
	VPXORQ Z15, Z15, Z15 // the skew's side
	TESTQ CX, CX
	JLE done

firstFeature:
	VMOVUPD (SI), Z1
	// The bucket: len(start)-1 where t >= top, int(t) where t > 0, else 0.
	VSUBPD.BCST ecdf_lo(R8), Z1, Z2
	VMULPD.BCST ecdf_perUnit(R8), Z2, Z2
	VCMPPD $0x1e, Z28, Z2, K1      // t > 0 (GT_OQ)
	VCMPPD.BCST $0x1d, ecdf_top(R8), Z2, K2 // t >= top (GE_OQ)
	VCVTTPD2QQ.Z Z2, K1, Z3
	MOVQ (ecdf_start+8)(R8), AX
	DECQ AX
	VPBROADCASTQ AX, Z4
	VMOVDQA64 Z4, K2, Z3
	// k = start[b]+1, and one step more where u[k] counts.
	MOVQ ecdf_start(R8), R9
	KXNORB K3, K3, K3
	VPGATHERQD (R9)(Z3*4), K3, Y5
	VPMOVSXDQ Y5, Z5
	VPADDQ Z24, Z5, Z5
	VPCMPQ.BCST $1, (ecdf_u+8)(R8), Z5, K4 // k < len(u)
	MOVQ ecdf_u(R8), R10
	VMOVDQA64 Z23, Z9              // the last value counted
	COUNT
	VMOVDQU64 Z5, (BX)
	VMOVUPD Z9, 64(BX)
	ADDQ $64, SI
	ADDQ $ecdf__size, R8
	ADDQ $128, BX
	DECQ CX
	JNZ firstFeature

	MOVQ cols+0(FP), SI
	MOVQ d+8(FP), CX
	MOVQ feat+16(FP), R8
	MOVQ scratch+40(FP), BX

feature:
	VMOVUPD (SI), Z1
	VMOVDQU64 (BX), Z5
	VMOVUPD 64(BX), Z9
	VPCMPQ $0, Z23, Z9, K6         // the lanes that counted the first value go on
	KNOTB K6, K6
	VPBROADCASTQ (ecdf_u+8)(R8), Z6 // len(u)
	MOVQ ecdf_u(R8), R10

count:
	VPCMPQ $1, Z6, Z5, K6, K4      // k < len(u), of those
	KORTESTB K4, K4
	JZ counted
	COUNT
	JMP count

counted:
	// p = 4(k-1), less 2 where v equals the last value counted.
	VSUBPD Z9, Z1, Z8
	VPANDQ Z27, Z8, Z8
	VPCMPEQQ Z28, Z8, K7
	VPSLLQ $2, Z5, Z10
	VPSUBQ Z26, Z10, Z10
	VPSUBQ Z25, Z10, K7, Z10
	MOVQ ecdf_tail(R8), R11
	KXNORB K3, K3, K3
	VGATHERQPD (R11)(Z10*8), K3, Z11
	KXNORB K3, K3, K3
	VGATHERQPD 8(R11)(Z10*8), K3, Z12
	VADDPD Z11, Z13, Z13
	VADDPD Z12, Z14, Z14
	TESTQ $1, (DX)
	JNZ oddRight
	VADDPD Z11, Z15, Z15
	JMP next

oddRight:
	VADDPD Z12, Z15, Z15

next:
	ADDQ $64, SI
	ADDQ $ecdf__size, R8
	ADDQ $8, DX
	ADDQ $128, BX
	DECQ CX
	JNZ feature

done:
	VMOVUPD Z13, 0(DI)
	VMOVUPD Z14, 64(DI)
	VMOVUPD Z15, 128(DI)
	VZEROUPPER
	RET
