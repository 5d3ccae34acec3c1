package fleet

// group is the running aggregate of the instances of one image or one
// publisher. Slices are indexed by parameter and grow as parameters appear.
type group struct {
	id   string
	n    int     // instances
	w    float64 // their total weight
	sum  []float64
	wsum []float64                    // weight of the instances that report the parameter
	sk   map[int32]*sketch            // parameters aggregated by Max or Quantile
	sets map[int32]map[uint32]float64 // set parameter → value → weight
}

// eps is the weight under which a running sum counts as zero, absorbing
// the rounding of adding and subtracting the same weights.
const eps = 1e-9

// add adds (sign 1) or subtracts (sign -1) in's report.
func (g *group) add(f *Fleet, in *instance, sign float64) {
	g.n += int(sign)
	g.w += sign * in.weight
	g.addNum(f, in, sign)
	g.addSets(in, sign)
}

// addNum adds or subtracts the numeric parameters of in's report only.
func (g *group) addNum(f *Fleet, in *instance, sign float64) {
	w := sign * in.weight
	g.grow(in)
	for _, nv := range in.num {
		p := nv.param
		g.sum[p] += w * nv.v
		g.wsum[p] += w
		if f.conf[p].Strategy == Mean {
			continue
		}
		if g.sk == nil {
			g.sk = make(map[int32]*sketch)
		}
		s := g.sk[p]
		if s == nil {
			s = &sketch{}
			g.sk[p] = s
		}
		s.add(nv.v, w)
		if len(s.buckets) == 0 {
			delete(g.sk, p)
		}
	}
}

// addSets adds or subtracts the set parameters of in's report only.
func (g *group) addSets(in *instance, sign float64) {
	w := sign * in.weight
	g.grow(in)
	for _, sv := range in.sets {
		if sv.value == noValue {
			g.wsum[sv.param] += w
			continue
		}
		if g.sets == nil {
			g.sets = make(map[int32]map[uint32]float64)
		}
		m := g.sets[sv.param]
		if m == nil {
			m = make(map[uint32]float64)
			g.sets[sv.param] = m
		}
		if m[sv.value] += w; m[sv.value] <= eps {
			delete(m, sv.value)
			if len(m) == 0 {
				delete(g.sets, sv.param)
			}
		}
	}
}

// grow extends g's slices to the parameters that in reports, so that a
// group holds only the parameters of its own instances.
func (g *group) grow(in *instance) {
	n := int32(len(g.wsum))
	for _, nv := range in.num {
		n = max(n, nv.param+1)
	}
	for _, sv := range in.sets {
		n = max(n, sv.param+1)
	}
	if k := int(n) - len(g.wsum); k > 0 {
		g.sum = append(g.sum, make([]float64, k)...)
		g.wsum = append(g.wsum, make([]float64, k)...)
	}
}
