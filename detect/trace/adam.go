package trace

import "math"

// adam is the Adam optimiser (Kingma and Ba, 2015) of one parameter slice.
type adam struct {
	mom, vel []float64
	step     int
}

func newAdam(n int) *adam {
	return &adam{mom: make([]float64, n), vel: make([]float64, n)}
}

// update moves p by one Adam step of size rate along the gradient g.
func (a *adam) update(p, g []float64, rate float64) {
	const b1, b2, eps = 0.9, 0.999, 1e-8
	a.step++
	c1 := 1 - math.Pow(b1, float64(a.step))
	c2 := 1 - math.Pow(b2, float64(a.step))
	lr := rate * math.Sqrt(c2) / c1
	mom, vel := a.mom[:len(p)], a.vel[:len(p)]
	for i, gi := range g[:len(p)] {
		mom[i] = b1*mom[i] + (1-b1)*gi
		vel[i] = b2*vel[i] + (1-b2)*gi*gi
		p[i] -= lr * mom[i] / (math.Sqrt(vel[i]) + eps)
	}
}
