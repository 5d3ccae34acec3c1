package fleet

import "math"

// noValue marks the entry that says an instance reports a set parameter,
// whatever its values (possibly none).
const noValue = math.MaxUint32

// interner gives each distinct set value a small id, counted by reference,
// so that an instance stores 8 bytes per value and a value no instance
// reports any more is forgotten.
type interner struct {
	ids   map[string]uint32
	names []string
	refs  []int32
	free  []uint32
}

func newInterner() interner { return interner{ids: make(map[string]uint32)} }

// ref returns the id of s and counts one more reference to it.
func (in *interner) ref(s string) uint32 {
	if id, ok := in.ids[s]; ok {
		in.refs[id]++
		return id
	}
	var id uint32
	if n := len(in.free); n > 0 {
		id, in.free = in.free[n-1], in.free[:n-1]
		in.names[id], in.refs[id] = s, 1
	} else {
		id = uint32(len(in.names))
		in.names, in.refs = append(in.names, s), append(in.refs, 1)
	}
	in.ids[s] = id
	return id
}

// unref drops one reference to id, forgetting the value at zero.
func (in *interner) unref(id uint32) {
	if in.refs[id]--; in.refs[id] == 0 {
		delete(in.ids, in.names[id])
		in.names[id] = ""
		in.free = append(in.free, id)
	}
}
