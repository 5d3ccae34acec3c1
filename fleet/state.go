package fleet

import (
	"math"
	"slices"
	"strings"
)

// State is the unified state of an image or a publisher.
type State struct {
	ID        string
	Instances int
	Weight    float64 // the instances' total weight
	Numeric   []Value // sorted by name
	Sets      []Set   // sorted by name
}

// Value is the aggregate of one numeric parameter.
type Value struct {
	Name     string
	Strategy Strategy
	Q        float64 // the quantile, for Quantile
	Weight   float64 // the parameter's Param.Weight
	Value    float64
	// Coverage is the share of the instances' weight that reports the
	// parameter.
	Coverage float64
}

// Set is the aggregate of one set parameter.
type Set struct {
	Name       string
	Weight     float64 // the parameter's Param.Weight
	Coverage   float64 // share of the instances' weight that reports it
	Dominant   string  // the value of the largest weight; ties by name
	Prevalence float64 // the dominant value's prevalence
	Values     []Share // every value, most prevalent first
}

// Share is the prevalence of one value of a set parameter: the weight of
// the instances that report it over the weight of those that report the
// parameter.
type Share struct {
	Value      string
	Prevalence float64
}

// Image returns the unified state of an image, and whether it has any
// instance.
func (f *Fleet) Image(id string) (State, bool) { return f.state(f.images, id) }

// Publisher returns the unified state of a publisher, and whether it has
// any instance.
func (f *Fleet) Publisher(id string) (State, bool) { return f.state(f.pubs, id) }

// PublisherValue returns the aggregate of one numeric parameter of a
// publisher, and whether any of its instances reports it. It costs O(1)
// for Mean and O(buckets) otherwise.
func (f *Fleet) PublisherValue(id, param string) (float64, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	g, p := f.pubs[id], -1
	if i, ok := f.params[param]; ok {
		p = i
	}
	if g == nil || p < 0 {
		return 0, false
	}
	v := g.value(f, p)
	return v, !math.IsNaN(v)
}

// Publishers lists the publishers that have instances, sorted.
func (f *Fleet) Publishers() []string { return f.keys(f.pubs) }

// Images lists the images that have instances, sorted.
func (f *Fleet) Images() []string { return f.keys(f.images) }

// Instances returns the number of tracked instances.
func (f *Fleet) Instances() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.instances)
}

func (f *Fleet) keys(m map[string]*group) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// value is the aggregate of numeric parameter p in g, NaN when no
// instance reports it.
func (g *group) value(f *Fleet, p int) float64 {
	if p >= len(g.wsum) || g.wsum[p] <= eps {
		return math.NaN()
	}
	switch c := f.conf[p]; c.Strategy {
	case Max:
		return g.sk[int32(p)].quantile(1)
	case Quantile:
		return g.sk[int32(p)].quantile(c.Q)
	}
	return g.sum[p] / g.wsum[p]
}

func (f *Fleet) state(m map[string]*group, id string) (State, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	g := m[id]
	if g == nil {
		return State{}, false
	}
	st := State{ID: id, Instances: g.n, Weight: g.w}
	for p := range g.wsum {
		if g.wsum[p] <= eps {
			continue
		}
		c := f.conf[p]
		if f.isSet[p] {
			st.Sets = append(st.Sets, g.set(f, p))
			continue
		}
		st.Numeric = append(st.Numeric, Value{
			Name: f.names[p], Strategy: c.Strategy, Q: c.Q, Weight: c.Weight,
			Value: g.value(f, p), Coverage: g.wsum[p] / g.w,
		})
	}
	slices.SortFunc(st.Numeric, func(a, b Value) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(st.Sets, func(a, b Set) int { return strings.Compare(a.Name, b.Name) })
	return st, true
}

// set is the aggregate of set parameter p in g.
func (g *group) set(f *Fleet, p int) Set {
	s := Set{Name: f.names[p], Weight: f.conf[p].Weight, Coverage: g.wsum[p] / g.w}
	for id, w := range g.sets[int32(p)] {
		s.Values = append(s.Values, Share{Value: f.values.names[id], Prevalence: w / g.wsum[p]})
	}
	slices.SortFunc(s.Values, func(a, b Share) int {
		switch {
		case a.Prevalence > b.Prevalence:
			return -1
		case a.Prevalence < b.Prevalence:
			return 1
		}
		return strings.Compare(a.Value, b.Value)
	})
	if len(s.Values) > 0 {
		s.Dominant, s.Prevalence = s.Values[0].Value, s.Values[0].Prevalence
	}
	return s
}

// InstanceIDs lists the tracked instances, in no order.
func (f *Fleet) InstanceIDs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	ids := make([]string, 0, len(f.instances))
	for id := range f.instances {
		ids = append(ids, id)
	}
	return ids
}
