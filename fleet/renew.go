package fleet

import (
	"cmp"
	"slices"
)

// Most reports of an instance differ from its previous one in their
// numbers only: same image, publisher and weight, and the same set values
// (processes, ports, modules change rarely). Replacing such a report
// touches no set: subtracting and adding back each set value was, with
// interning it again, half of the cost of a Put.

// sameButNumbers reports whether the validated report f.pend of s differs
// from old in its numeric parameters only. Set values are compared as
// Put would store them: in the order of their parameters' indices, each
// value once, in the order given.
func (f *Fleet) sameButNumbers(old *instance, s report) bool {
	p := &f.pend
	if old.image.id != s.Image || old.pub.id != s.Publisher || old.weight != p.weight {
		return false
	}
	k := 0
	for _, ps := range p.sets {
		if ps.idx < 0 || k >= len(old.sets) || old.sets[k] != (setValue{ps.idx, noValue}) {
			return false
		}
		k++
		start := k
		for _, v := range ps.values {
			id, ok := f.values.ids[v]
			if !ok {
				return false
			}
			if slices.Contains(old.sets[start:k], setValue{ps.idx, id}) {
				continue // given twice, stored once
			}
			if k >= len(old.sets) || old.sets[k] != (setValue{ps.idx, id}) {
				return false
			}
			k++
		}
	}
	return k == len(old.sets)
}

// replaceNumbers swaps old's numeric parameters for those of f.pend, which
// sameButNumbers accepted, in old's groups.
func (f *Fleet) replaceNumbers(old *instance) {
	for _, g := range [2]*group{old.image, old.pub} {
		g.addNum(f, old, -1)
	}
	old.num = old.num[:0]
	for _, n := range f.pend.num {
		if n.idx < 0 {
			n.idx = int32(f.index(n.name, false))
		}
		old.num = append(old.num, numValue{n.idx, n.v})
	}
	for _, g := range [2]*group{old.image, old.pub} {
		g.addNum(f, old, 1)
	}
}

// sortSets orders the set parameters of f.pend by index, as they are
// stored, so that sameButNumbers can compare them with a stored report.
// New parameters (index -1) come first; no stored report has them.
func (f *Fleet) sortSets() {
	slices.SortFunc(f.pend.sets, func(a, b pendingSet) int { return cmp.Compare(a.idx, b.idx) })
}
