package pipeline

import "math"

// Threshold returns the mean surprise over n benign instances that is
// exceeded with probability alpha: under the hypothesis that the instances
// are benign, each surprise -ln p is (nearly) Exp(1) and their sum is
// Gamma(n, 1) (Fisher's method), so the threshold is the 1-alpha quantile of
// Gamma(n, 1), over n. It falls from -ln alpha (9.2 for 1e-4) at n = 1
// toward 1 as n grows: the more instances agree, the smaller the excess
// that gives a publisher away.
func Threshold(n int, alpha float64) float64 {
	if n <= 0 {
		return math.Inf(1)
	}
	lo, hi := 0.0, float64(n)+50*math.Sqrt(float64(n))+50
	for range 100 {
		mid := (lo + hi) / 2
		if gammaTail(n, mid) > alpha {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi / float64(n)
}

// gammaTail is P(Gamma(n, 1) > x) = e^-x Σ_{i<n} x^i/i!, summed in log
// space so that large n and x do not overflow.
func gammaTail(n int, x float64) float64 {
	if x <= 0 {
		return 1
	}
	logTerm, sum := -x, 0.0 // log of e^-x x^i / i!
	for i := 0; i < n; i++ {
		if i > 0 {
			logTerm += math.Log(x) - math.Log(float64(i))
		}
		sum += math.Exp(logTerm)
	}
	return math.Min(sum, 1)
}
