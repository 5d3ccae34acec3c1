package fleet

import (
	"math"
	"slices"
)

// sketch is a weighted, log-bucketed quantile sketch in the manner of
// DDSketch (Masson, Rim and Lee, 2019): a value v > 0 falls in bucket
// ceil(log_gamma v), so that any quantile read back is within relative
// error alpha of a true value. Unlike sorted samples it supports removal in
// O(1), which lets an instance's old value be subtracted when it reports a
// new one. Memory grows with the number of distinct buckets in use, at
// most one per value added.
type sketch struct {
	buckets map[int32]float64 // signed bucket index → weight; 0 holds |v| < minValue
	total   float64
}

const (
	alpha    = 0.01                 // relative accuracy of max and quantiles
	minValue = 1e-9                 // smaller magnitudes count as 0
	logGamma = 0.020000666706669333 // math.Log((1+alpha)/(1-alpha))
	maxIndex = math.MaxInt32/2 - 1  // bound on a bucket index, far above any float64
)

// index returns the signed bucket of v: 0 for |v| < minValue, k > 0 for
// positive v, -k for negative.
func index(v float64) int32 {
	a := math.Abs(v)
	if a < minValue {
		return 0
	}
	k := int32(min(math.Ceil(math.Log(a/minValue)/logGamma), maxIndex)) + 1
	if v < 0 {
		return -k
	}
	return k
}

// value returns the representative value of bucket k: the midpoint, in
// relative terms, of its range.
func value(k int32) float64 {
	if k == 0 {
		return 0
	}
	a := int32(k)
	if a < 0 {
		a = -a
	}
	// bucket a covers (gamma^(a-2), gamma^(a-1)] × minValue
	v := minValue * math.Exp(float64(a-1)*logGamma) * 2 / (1 + math.Exp(logGamma))
	if k < 0 {
		return -v
	}
	return v
}

// add adds weight w (negative to remove) to value v.
func (s *sketch) add(v, w float64) {
	if s.buckets == nil {
		s.buckets = make(map[int32]float64)
	}
	k := index(v)
	nw := s.buckets[k] + w
	if nw <= 1e-12 {
		delete(s.buckets, k)
	} else {
		s.buckets[k] = nw
	}
	s.total += w
	if len(s.buckets) == 0 {
		s.total = 0
	}
}

// quantile returns the q-quantile (0 <= q <= 1) of the weighted values,
// or NaN when the sketch is empty; q = 1 is the maximum.
func (s *sketch) quantile(q float64) float64 {
	if len(s.buckets) == 0 || s.total <= 0 {
		return math.NaN()
	}
	keys := make([]int32, 0, len(s.buckets))
	for k := range s.buckets {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if q >= 1 {
		return value(keys[len(keys)-1])
	}
	rank, acc := q*s.total, 0.0
	for _, k := range keys {
		acc += s.buckets[k]
		if acc > rank {
			return value(k)
		}
	}
	return value(keys[len(keys)-1])
}
