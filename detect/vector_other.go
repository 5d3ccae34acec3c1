//go:build !amd64 || purego || amd64.v3

package detect

import "unsafe"

// hasAVX512 is false: the kernels that take it are written for amd64 only,
// and below GOAMD64=v3 (see vector_amd64.go).
const hasAVX512 = false

// The kernels are never called where hasAVX512 is false.

func topLevels(at *uint64, groups int, cols *uint64, off *[1 << topDepth]int, key *[1 << topDepth]uint64) {
	panic("detect: topLevels without AVX-512")
}

func zscore8(cols *float64, d int, med *float64, scale *float64, out *[8]float64) {
	panic("detect: zscore8 without AVX-512")
}

func hbos8(cols *float64, d int, rng *binRange, cost *float64, bins int, terms *float64, far *uint8, empty *float64) {
	panic("detect: hbos8 without AVX-512")
}

func log1p8(x *[8]float64, out *[8]float64) {
	panic("detect: log1p8 without AVX-512")
}

func sum8(terms *float64, d int, out *[8]float64) {
	panic("detect: sum8 without AVX-512")
}

func ecod8(cols *float64, d int, feat *ecdf, odd *int, sums *[3][8]float64, scratch *[2][8]uint64) {
	panic("detect: ecod8 without AVX-512")
}

func transpose8x8(rows *[8]*float64, blocks int, dst unsafe.Pointer, stride int, keys bool) {
	panic("detect: transpose8x8 without AVX-512")
}
