package fleet

import "imgward/errors"

// putOp is the operation of the errors of Put.
const putOp = "fleet.Put"

// pending is a validated report, its parameters resolved to indices (-1
// for a name not yet registered), waiting to be applied.
type pending struct {
	weight float64
	num    []pendingNum
	sets   []pendingSet
	fresh  map[string]bool // names not yet registered
	stamp  []uint64        // per parameter: the gen of the last report naming it
	gen    uint64
}

type pendingNum struct {
	name string
	idx  int32
	v    float64
}

type pendingSet struct {
	name   string
	idx    int32
	values []string
}

// validate checks s against the rules and limits and resolves it into
// f.pend. It changes no state that a reader could see.
func (f *Fleet) validate(s report) error {
	bad := func(format string, args ...any) error {
		return errors.E(putOp, errors.Invalid, errors.Errorf(format, args...))
	}
	big := func(format string, args ...any) error {
		return errors.E(putOp, errors.TooLarge, errors.Errorf(format, args...))
	}
	if s.Instance == "" || s.Image == "" || s.Publisher == "" {
		return bad("a snapshot needs an instance, an image and a publisher")
	}
	for _, id := range [3]string{s.Instance, s.Image, s.Publisher} {
		if len(id) > f.lim.ValueLength {
			return big("an id is longer than %d bytes", f.lim.ValueLength)
		}
	}
	p := &f.pend
	if p.weight = s.Weight; p.weight == 0 {
		p.weight = 1
	}
	if !(p.weight >= 1e-6 && p.weight <= 1e6) {
		return bad("weight %v is outside [1e-6, 1e6]", s.Weight)
	}
	if len(s.Names) != len(s.Values) {
		return bad("%d names for %d values", len(s.Names), len(s.Values))
	}
	p.num, p.sets, p.gen = p.num[:0], p.sets[:0], p.gen+1
	clear(p.fresh)
	for len(p.stamp) < len(f.names) {
		p.stamp = append(p.stamp, 0)
	}
	for i, name := range s.Names {
		idx, err := f.resolve(name, false)
		if err != nil {
			return err
		}
		if !finite(s.Values[i]) {
			return bad("parameter %q is %v", name, s.Values[i])
		}
		p.num = append(p.num, pendingNum{name, idx, s.Values[i]})
	}
	for name, v := range s.Numeric {
		idx, err := f.resolve(name, false)
		if err != nil {
			return err
		}
		if !finite(v) {
			return bad("parameter %q is %v", name, v)
		}
		p.num = append(p.num, pendingNum{name, idx, v})
	}
	values := 0
	for name, vs := range s.Sets {
		idx, err := f.resolve(name, true)
		if err != nil {
			return err
		}
		values += len(vs)
		for _, v := range vs {
			if len(v) > f.lim.ValueLength {
				return big("a value of %q is longer than %d bytes", name, f.lim.ValueLength)
			}
		}
		p.sets = append(p.sets, pendingSet{name, idx, vs})
	}
	f.sortSets()
	if values > f.lim.SetValues {
		return big("%d set values, more than %d", values, f.lim.SetValues)
	}
	if len(f.names)+len(p.fresh) > f.lim.Params {
		return big("more than %d distinct parameters", f.lim.Params)
	}
	return nil
}

// resolve returns the index of a parameter name (-1 when it is new) after
// checking that the report names it once and with its registered kind.
func (f *Fleet) resolve(name string, isSet bool) (int32, error) {
	p := &f.pend
	i, known := f.params[name]
	if !known {
		if name == "" || len(name) > f.lim.ValueLength {
			return 0, errors.E(putOp, errors.Invalid, errors.Errorf("parameter name %.40q is empty or too long", name))
		}
		if p.fresh == nil {
			p.fresh = make(map[string]bool)
		}
		if p.fresh[name] {
			return 0, errors.E(putOp, errors.Invalid, errors.Errorf("parameter %q is given twice", name))
		}
		p.fresh[name] = true
		return -1, nil
	}
	if p.stamp[i] == p.gen {
		return 0, errors.E(putOp, errors.Invalid, errors.Errorf("parameter %q is given twice", name))
	}
	p.stamp[i] = p.gen
	if f.isSet[i] != isSet {
		return 0, errors.E(putOp, errors.Invalid, errors.Errorf("parameter %q is numeric in one report and a set in another", name))
	}
	return int32(i), nil
}
