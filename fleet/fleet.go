// Package fleet keeps the unified state of every image and every publisher:
// a streaming aggregate of the latest snapshot of each of their instances.
//
// Each instance reports numeric parameters (name → number) and set
// parameters (name → strings: process names, listening ports, modules...).
// A Fleet folds the latest report of every instance into its image's and
// its publisher's state. Each numeric parameter is aggregated by the
// strategy its Param names, with the instance's weight:
//
//   - Mean (the default): the weighted mean;
//   - Max: the largest value;
//   - Quantile: the weighted Q-quantile.
//
// Max and Quantile are read from a log-bucketed sketch with 1% relative
// accuracy, so that they too can forget a value. Every set parameter gives
// the weighted prevalence of each of its values (the weight of the
// instances that report it, over the weight of those that report the
// parameter at all) and its dominant value, the weighted mode.
//
// A report replaces the instance's previous one: its old contribution is
// subtracted and the new one added, so that each Put costs O(parameters),
// whatever the number of instances. Memory per instance is bounded by the
// Limits. A Fleet is safe for concurrent use.
package fleet

import (
	"math"
	"sync"

	"imgward/errors"
	"imgward/snapshot"
)

// Strategy says how a numeric parameter is folded over instances.
type Strategy uint8

// The strategies.
const (
	Mean     Strategy = iota // weighted mean
	Max                      // maximum
	Quantile                 // weighted quantile Param.Q
)

func (s Strategy) String() string {
	switch s {
	case Mean:
		return "mean"
	case Max:
		return "max"
	case Quantile:
		return "quantile"
	}
	return "unknown"
}

// Param configures the aggregation of one parameter.
type Param struct {
	Strategy Strategy // numeric parameters only
	Q        float64  // the quantile of Quantile, in [0, 1]
	// Weight is the parameter's importance when states are compared with a
	// baseline; the Fleet reports it with the value and does not use it.
	// 0 means 1.
	Weight float64
}

// Limits bound a Fleet's memory. A zero field means its default.
type Limits struct {
	Instances   int // tracked instances; default 1,000,000
	Params      int // distinct parameter names, numeric and set; default 1024
	SetValues   int // values of all set parameters of one report; default 256
	ValueLength int // bytes of one set value or name; default 256
}

func (l Limits) withDefaults() Limits {
	if l.Instances <= 0 {
		l.Instances = 1_000_000
	}
	if l.Params <= 0 {
		l.Params = 1024
	}
	if l.SetValues <= 0 {
		l.SetValues = 256
	}
	if l.ValueLength <= 0 {
		l.ValueLength = 256
	}
	return l
}

// Config configures a Fleet. The zero Config aggregates every numeric
// parameter by weighted mean with weight 1.
type Config struct {
	Params  map[string]Param // per parameter name
	Default Param            // for parameters not in Params
	Limits  Limits
}

// Member places an instance in the fleet: its image, the image's
// publisher, and the instance's weight in their aggregates, in
// [1e-6, 1e6] (0 means 1).
type Member struct {
	Instance, Image, Publisher string
	Weight                     float64
	// Seq orders an instance's reports as the server received them: a
	// report with a lower Seq than the instance's current one arrived
	// earlier, however late Put is called with it, and is ignored. 0 is
	// unordered: such a report always replaces the current one.
	Seq uint64
}

// report is one instance's parameters as Put takes them: numbers as
// parallel names and values (a vector with its schema), or in a map, or
// both, and sets.
type report struct {
	Instance  string
	Image     string
	Publisher string
	Weight    float64
	Names     []string
	Values    []float64
	Numeric   map[string]float64
	Sets      map[string][]string
	Seq       uint64 // Member.Seq
}

// Fleet is the unified state of all images and publishers.
type Fleet struct {
	mu        sync.Mutex
	cfg       Config
	lim       Limits
	params    map[string]int // parameter name → index
	names     []string       // parameter index → name
	conf      []Param        // parameter index → its Param
	isSet     []bool         // parameter index → a set parameter, not numeric
	values    interner
	pend      pending         // scratch of Put
	seen      map[string]bool // scratch of Put
	instances map[string]*instance
	images    map[string]*group
	pubs      map[string]*group
}

// instance is what the Fleet remembers of an instance: its latest report,
// to subtract it when the next one comes.
type instance struct {
	image, pub *group
	weight     float64
	seq        uint64 // Snapshot.Seq of the report
	num        []numValue
	sets       []setValue
}

type numValue struct {
	param int32
	v     float64
}

type setValue struct {
	param int32
	value uint32
}

// New returns an empty Fleet.
func New(cfg Config) *Fleet {
	if cfg.Default.Weight == 0 {
		cfg.Default.Weight = 1
	}
	return &Fleet{
		cfg:       cfg,
		lim:       cfg.Limits.withDefaults(),
		params:    make(map[string]int),
		values:    newInterner(),
		instances: make(map[string]*instance),
		images:    make(map[string]*group),
		pubs:      make(map[string]*group),
		seen:      make(map[string]bool),
	}
}

// Put records the numeric and set features of s as the latest report of
// m's instance, replacing the previous one unless m.Seq says it was
// received before that one; s's instance id, time, source and system calls
// are not folded. An invalid report (no ids, a
// non-finite value, a bad weight, a name given both as a number and as a
// set) is an error of kind Invalid; one over the limits is kind TooLarge.
// A rejected or superseded report changes nothing.
func (f *Fleet) Put(m Member, s *snapshot.Snapshot) error {
	r := report{Instance: m.Instance, Image: m.Image, Publisher: m.Publisher, Weight: m.Weight,
		Numeric: s.Numeric, Sets: s.Sets, Seq: m.Seq}
	// A decoded snapshot's numbers as a slice: iterating the map, under
	// the Fleet's lock, was half of a Put.
	if names, values, ok := s.NumericRow(); ok {
		r.Names, r.Values, r.Numeric = names, values, nil
	}
	return f.put(r)
}

// PutValues is Put for a report of numbers only, given as parallel names
// and values (a vector with its schema), such as the surprise of each
// scored instance; it takes neither maps nor sets. Mismatched names and
// values are an error of kind Invalid.
func (f *Fleet) PutValues(m Member, names []string, values []float64) error {
	return f.put(report{Instance: m.Instance, Image: m.Image, Publisher: m.Publisher, Weight: m.Weight,
		Names: names, Values: values, Seq: m.Seq})
}

func (f *Fleet) put(s report) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	old := f.instances[s.Instance]
	if old != nil && s.Seq != 0 && s.Seq < old.seq {
		return nil // superseded by a report received later
	}
	if err := f.validate(s); err != nil {
		return err
	}
	p := &f.pend
	if old == nil && len(f.instances) >= f.lim.Instances {
		return errors.E(putOp, errors.TooLarge, errors.Errorf("more than %d instances", f.lim.Instances))
	}
	if old != nil && f.sameButNumbers(old, s) {
		f.replaceNumbers(old)
		old.seq = s.Seq
		return nil
	}
	in := &instance{weight: p.weight, seq: s.Seq}
	if old != nil {
		f.subtract(old)
		in.num, in.sets = old.num[:0], old.sets[:0] // reuse storage
	}
	in.image = f.groupOf(f.images, s.Image)
	in.pub = f.groupOf(f.pubs, s.Publisher)
	for _, n := range p.num {
		if n.idx < 0 {
			n.idx = int32(f.index(n.name, false))
		}
		in.num = append(in.num, numValue{n.idx, n.v})
	}
	for _, s := range p.sets {
		if s.idx < 0 {
			s.idx = int32(f.index(s.name, true))
		}
		in.sets = append(in.sets, setValue{s.idx, noValue}) // the instance reports the parameter
		clear(f.seen)
		for _, v := range s.values {
			if !f.seen[v] {
				f.seen[v] = true
				in.sets = append(in.sets, setValue{s.idx, f.values.ref(v)})
			}
		}
	}
	f.instances[s.Instance] = in
	f.add(in, 1)
	return nil
}

// Remove forgets an instance, as when it is terminated; removing an
// unknown instance is not an error.
func (f *Fleet) Remove(instanceID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if in := f.instances[instanceID]; in != nil {
		f.subtract(in)
		delete(f.instances, instanceID)
	}
}

// subtract takes in's contribution out of its groups and releases its
// interned values.
func (f *Fleet) subtract(in *instance) {
	f.add(in, -1)
	for _, s := range in.sets {
		if s.value != noValue {
			f.values.unref(s.value)
		}
	}
	f.dropIfEmpty(f.images, in.image)
	f.dropIfEmpty(f.pubs, in.pub)
}

// add adds (sign 1) or subtracts (sign -1) in's report to its groups.
func (f *Fleet) add(in *instance, sign float64) {
	for _, g := range [2]*group{in.image, in.pub} {
		g.add(f, in, sign)
	}
}

// index returns the index of a parameter name, registering it; validate
// has checked that the limit leaves room.
func (f *Fleet) index(name string, isSet bool) int {
	if i, ok := f.params[name]; ok {
		return i
	}
	f.isSet = append(f.isSet, isSet)
	i := len(f.names)
	f.params[name] = i
	f.names = append(f.names, name)
	p, ok := f.cfg.Params[name]
	if !ok {
		p = f.cfg.Default
	}
	if p.Weight == 0 {
		p.Weight = 1
	}
	f.conf = append(f.conf, p)
	return i
}

func (f *Fleet) groupOf(m map[string]*group, id string) *group {
	g := m[id]
	if g == nil {
		g = &group{id: id}
		m[id] = g
	}
	return g
}

func (f *Fleet) dropIfEmpty(m map[string]*group, g *group) {
	if g.n == 0 {
		delete(m, g.id)
	}
}

// finite reports whether v is neither NaN nor infinite.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
