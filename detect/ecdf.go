package detect

import (
	"math"
	"slices"
)

// ecdf is one feature's empirical distribution in ECOD, arranged so that
// the tails of a value are found with a multiplication, one table read
// and a short scan, instead of a binary search.
//
// The distinct baseline values u are sorted; tail holds -log of the left
// and right tail probabilities of every value and of every gap between
// two, in order: the gap below u[0], u[0], the gap between u[0] and u[1],
// ..., u[m-1], the gap above. A uniform grid of buckets over [u[0],
// u[m-1]] indexes u: start[b] is the number of values in buckets before b.
// Since the bucket of v never decreases as v grows, every value in an
// earlier bucket is below v and every value in a later one is above it,
// so counting the values at most v starts at start[b] and scans only v's
// own bucket, which the grid keeps small (see fitECDF).
type ecdf struct {
	lo, perUnit float64   // the bucket of v is (v-lo)*perUnit, in [0, len(start))
	top         float64   // len(start)-1, the last bucket, converted once
	start       []int32   // per bucket: the number of values in the buckets before it
	u           []float64 // NaN, then the m distinct values: u[k] is the k-th from 1
	tail        []float64 // pairs (left, right) for the 2m+1 values and gaps
}

// maxScan bounds the number of baseline values in one bucket for which
// fitECDF refines its grid; maxGrid bounds that refinement.
const (
	maxScan = 8
	maxGrid = 1 << 14 // 64 KiB of start a feature
)

// fitECDF tabulates the sorted column col of n baseline rows.
func fitECDF(col []float64) ecdf {
	n := len(col)
	tail := func(count int) float64 { return math.Log(float64(n+1)) - math.Log(float64(count+1)) }
	e := ecdf{u: []float64{math.NaN()}} // u[0] is never equal to v, see tails
	for i := 0; i < n; {
		k := i
		for k < n && col[k] == col[i] {
			k++
		}
		// col[i:k] are equal: i values below, n-k above.
		e.tail = append(e.tail, tail(i), tail(n-i), tail(k), tail(n-i))
		e.u = append(e.u, col[i])
		i = k
	}
	e.tail = append(e.tail, tail(n), tail(0)) // above every value
	m := len(e.u) - 1
	e.lo = e.u[1]
	// Twice as many buckets as values, and more while one bucket holds
	// more than maxScan of them (values clustered in a small part of the
	// range), up to maxGrid buckets.
	for grid := min(max(2*m, 1), maxGrid); ; grid *= 2 {
		e.perUnit = 0
		if m > 1 {
			e.perUnit = float64(grid) / (e.u[m] - e.lo) // +Inf or 0 on overflow: still monotone
		}
		e.start, e.top = make([]int32, grid), float64(grid-1)
		count := make([]int32, grid)
		for k := 1; k <= m; k++ {
			count[e.bucket(e.u[k])]++
		}
		for b := 1; b < grid; b++ {
			e.start[b] = e.start[b-1] + count[b-1]
		}
		if slices.Max(count) <= maxScan || 2*grid > maxGrid {
			return e
		}
	}
}

// bucket returns the grid bucket of v, in [0, len(start)); it never
// decreases as v grows. A NaN product (0 times an infinite v, or +Inf
// times 0 at lo) goes to the first bucket.
func (e *ecdf) bucket(v float64) int {
	t := (v - e.lo) * e.perUnit
	switch {
	case t >= e.top:
		return len(e.start) - 1
	case t > 0:
		return int(t)
	}
	return 0
}

// tails returns -log of the left and right tail probabilities of v:
// P(X <= v) and P(X >= v), each as (count+1)/(n+1).
//
// The count of values at most v uses the test of the binary search it
// replaced, and gives the same scores: u[k] counts when v-u[k] has its
// sign bit clear, so that -0 counts as below +0.
func (e *ecdf) tails(v float64) (left, right float64) {
	t := e.tailsFrom(v, e.first(v))
	return t[0], t[1]
}

// first returns where the count of values at most v goes on from: past
// the values of the buckets before v's, and past the first value of v's
// bucket too when it counts, a step of the scan taken without a branch.
// ECOD.Score takes this step for every feature before it scans any, so
// that the processor fetches the start and the first value of every
// feature at once: taken feature by feature, the end of each scan, which
// the processor can rarely predict, discarded the fetches it had begun
// for the next features.
func (e *ecdf) first(v float64) int {
	k := int(e.start[e.bucket(v)]) + 1
	if k < len(e.u) {
		k += int(1 - math.Float64bits(v-e.u[k])>>63)
	}
	return k
}

// tailsFrom returns the left and right tails of v, in that order, given k
// = first(v). Whether v equals the last value counted is taken from the
// bits of their difference, without a branch: baseline values are finite,
// so v-u is ±0 exactly when v == u, and NaN (never equal) for u[0].
func (e *ecdf) tailsFrom(v float64, k int) []float64 {
	u := e.u
	for k < len(u) {
		if int64(math.Float64bits(v-u[k])) < 0 {
			break
		}
		k++
	}
	// u[1:k] count; v equals the last of them or falls in the gap above.
	abs := math.Float64bits(v-u[k-1]) &^ (1 << 63)
	p := 4*(k-1) - 2*int((abs-1)>>63) // abs-1 has its top bit set only when abs is 0
	return e.tail[p : p+2]
}
