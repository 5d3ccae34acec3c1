package fleet

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestReplaceEqualsFresh replaces reports at random, often changing only
// their numbers (Put's shortcut) and sometimes their sets, order of sets,
// repeated values, weight or image, and checks that the states equal
// those of a Fleet given only each instance's last report.
func TestReplaceEqualsFresh(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cfg := Config{Params: map[string]Param{"cpu": {Strategy: Max}, "rss": {Strategy: Quantile, Q: 0.5}}}
	f := New(cfg)
	last := map[string]report{}
	report := func(i int) report {
		s := report{Instance: fmt.Sprint("i", i), Image: "img0", Publisher: "p", Weight: 1,
			Numeric: map[string]float64{"cpu": float64(rng.IntN(100)), "rss": float64(rng.IntN(100)),
				"conn": float64(rng.IntN(4))},
			Sets: map[string][]string{"ports": {"22", "443"}, "procs": {"sshd", "nginx", "sshd"}}}
		switch rng.IntN(8) {
		case 0:
			s.Sets["ports"] = []string{"443", "22"} // the same values in another order
		case 1:
			s.Sets["procs"] = append(s.Sets["procs"], fmt.Sprint("p", rng.IntN(3)))
		case 2:
			s.Weight = 2
		case 3:
			s.Image = "img1"
		case 4:
			delete(s.Sets, "ports")
		case 5:
			s.Sets[fmt.Sprint("new", rng.IntN(3))] = []string{"x"}
		}
		return s
	}
	for range 2000 {
		s := report(rng.IntN(20))
		put(t, f, s)
		last[s.Instance] = s
	}
	fresh := New(cfg)
	for _, s := range last {
		put(t, fresh, s)
	}
	for _, id := range []string{"img0", "img1"} {
		a, _ := f.Image(id)
		b, _ := fresh.Image(id)
		if !statesNear(a, b) {
			t.Errorf("image %s after replacements:\n%+v\nfresh:\n%+v", id, a, b)
		}
	}
	a, _ := f.Publisher("p")
	b, _ := fresh.Publisher("p")
	if !statesNear(a, b) {
		t.Errorf("publisher after replacements:\n%+v\nfresh:\n%+v", a, b)
	}
}

// statesNear compares states up to the rounding of running sums.
func statesNear(a, b State) bool {
	if len(a.Numeric) != len(b.Numeric) || a.Instances != b.Instances || !near(a.Weight, b.Weight, 1e-9) {
		return false
	}
	for i := range a.Numeric {
		x, y := a.Numeric[i], b.Numeric[i]
		if x.Name != y.Name || !near(x.Value, y.Value, 1e-9) || !near(x.Coverage, y.Coverage, 1e-9) {
			return false
		}
	}
	if len(a.Sets) != len(b.Sets) {
		return false
	}
	for i := range a.Sets {
		x, y := a.Sets[i], b.Sets[i]
		if x.Name != y.Name || x.Dominant != y.Dominant || !near(x.Coverage, y.Coverage, 1e-9) ||
			len(x.Values) != len(y.Values) {
			return false
		}
		for j := range x.Values {
			if x.Values[j].Value != y.Values[j].Value || !near(x.Values[j].Prevalence, y.Values[j].Prevalence, 1e-9) {
				return false
			}
		}
	}
	return true
}
