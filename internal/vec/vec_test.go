package vec

import "testing"

func TestDot(t *testing.T) {
	w := []float64{1, 2, 3, 4, 5, 6, 7, 100}
	for n, want := range []float64{0, 1, 5, 14, 30, 55, 91, 140} {
		x := []float64{1, 2, 3, 4, 5, 6, 7}[:n]
		if got := Dot(w, x); got != want {
			t.Errorf("Dot of %d: %v, want %v", n, got, want)
		}
	}
}
