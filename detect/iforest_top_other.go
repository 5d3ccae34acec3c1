//go:build !amd64 || purego

package detect

// hasTopLevels is false: topLevels is written for amd64's AVX-512 only.
const hasTopLevels = false

// topLevels is never called where hasTopLevels is false.
func topLevels(at *uint64, groups int, cols *uint64, off *[1 << topDepth]int, key *[1 << topDepth]uint64) {
	panic("detect: topLevels without AVX-512")
}
