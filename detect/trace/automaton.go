package trace

// automaton is the suffix automaton of a set of traces (Blumer et al.,
// 1985): the smallest automaton that accepts every contiguous subsequence
// of every trace, built in time linear in their total length. It has at
// most two states per element, so a model of the baseline's bounded
// traces (pipeline's maxTraceCalls) stays bounded too, and it is rebuilt
// from the stored traces rather than stored itself.
//
// The traces are joined by a separator that no trace contains (it has no
// symbol a call can map to), so a match never runs from one trace into
// the next.
//
// Calls map to dense symbols so that the root, which has an edge for
// every distinct call, is an array; the other states keep their few edges
// in linked lists.
type automaton struct {
	sym    map[int32]int32 // call → symbol
	root   []int32         // symbol → state after the root, or -1
	length []int32         // per state: the longest subsequence it accepts
	link   []int32         // per state: its suffix link, -1 for the root
	first  []int32         // per state: its first edge, or -1
	esym   []int32         // per edge: its symbol
	eto    []int32         // per edge: the state it leads to
	enext  []int32         // per edge: the state's next edge, or -1
	last   int32           // the state of the whole text so far
}

// newAutomaton returns the suffix automaton of seqs.
func newAutomaton(seqs [][]int32) *automaton {
	a := &automaton{sym: map[int32]int32{}}
	n := 0
	for _, s := range seqs {
		n += len(s) + 1
		for _, c := range s {
			if _, ok := a.sym[c]; !ok {
				a.sym[c] = int32(len(a.sym))
			}
		}
	}
	sep := int32(len(a.sym))
	a.root = make([]int32, sep+1)
	for i := range a.root {
		a.root[i] = -1
	}
	a.length = make([]int32, 1, 2*n+1)
	a.link = append(make([]int32, 0, 2*n+1), -1)
	a.first = append(make([]int32, 0, 2*n+1), -1)
	for _, s := range seqs {
		for _, c := range s {
			a.extend(a.sym[c])
		}
		a.extend(sep)
	}
	return a
}

// symbol returns the symbol of call c, or -1 if no trace has it.
func (a *automaton) symbol(c int32) int32 {
	if s, ok := a.sym[c]; ok {
		return s
	}
	return -1
}

// step returns the state that state v leads to on symbol c, or -1.
func (a *automaton) step(v, c int32) int32 {
	if c < 0 {
		return -1
	}
	if v == 0 {
		return a.root[c]
	}
	for e := a.first[v]; e >= 0; e = a.enext[e] {
		if a.esym[e] == c {
			return a.eto[e]
		}
	}
	return -1
}

// setEdge makes state v lead to state to on symbol c.
func (a *automaton) setEdge(v, c, to int32) {
	if v == 0 {
		a.root[c] = to
		return
	}
	for e := a.first[v]; e >= 0; e = a.enext[e] {
		if a.esym[e] == c {
			a.eto[e] = to
			return
		}
	}
	a.esym, a.eto, a.enext = append(a.esym, c), append(a.eto, to), append(a.enext, a.first[v])
	a.first[v] = int32(len(a.esym) - 1)
}

// newState adds a state accepting subsequences up to length n.
func (a *automaton) newState(n, link int32) int32 {
	a.length, a.link, a.first = append(a.length, n), append(a.link, link), append(a.first, -1)
	return int32(len(a.length) - 1)
}

// extend appends symbol c to the text: the standard online construction.
func (a *automaton) extend(c int32) {
	cur := a.newState(a.length[a.last]+1, 0)
	p := a.last
	for p >= 0 && a.step(p, c) < 0 {
		a.setEdge(p, c, cur)
		p = a.link[p]
	}
	a.last = cur
	if p < 0 {
		return
	}
	q := a.step(p, c)
	if a.length[p]+1 == a.length[q] {
		a.link[cur] = q
		return
	}
	clone := a.newState(a.length[p]+1, a.link[q])
	for e := a.first[q]; e >= 0; e = a.enext[e] {
		a.setEdge(clone, a.esym[e], a.eto[e])
	}
	for p >= 0 && a.step(p, c) == q {
		a.setEdge(p, c, clone)
		p = a.link[p]
	}
	a.link[q], a.link[cur] = clone, clone
}

// segments returns the number of segments of the greedy covering of t by
// subsequences of the automaton's traces: from the start, the longest
// prefix of the rest of t that some trace contains, then again from where
// it ends (as LZ77 parses with the traces as dictionary). A call no trace
// makes is a segment of its own. Greedy longest matches give the fewest
// segments of any covering, since the subsequences of a set of traces
// are closed under taking subsequences.
func (a *automaton) segments(t []int32) int {
	n, v := 0, int32(-1)
	for _, c := range t {
		s := a.symbol(c)
		if v >= 0 {
			if u := a.step(v, s); u >= 0 {
				v = u
				continue
			}
		}
		n++
		v = a.step(0, s)
	}
	return n
}

// matches sets ms[i] to the length of the longest subsequence of the
// automaton's traces that ends at t[i] (the matching statistics of t) and
// returns ms, reusing it if long enough.
func (a *automaton) matches(t []int32, ms []int32) []int32 {
	if cap(ms) < len(t) {
		ms = make([]int32, len(t))
	}
	ms = ms[:len(t)]
	v, l := int32(0), int32(0)
	for i, c := range t {
		s := a.symbol(c)
		for v != 0 && a.step(v, s) < 0 {
			v = a.link[v]
			l = a.length[v]
		}
		if u := a.step(v, s); u >= 0 {
			v, l = u, l+1
		} else {
			v, l = 0, 0
		}
		ms[i] = l
	}
	return ms
}
