package trace

import "testing"

// TestLocal checks that the n-gram model of a trace's program finds a
// program's calls in another program's order more novel than the global
// n-gram model does: program A loops 1 2 3 4 5, program B 1 3 2 4 6, and
// the trace of A's calls in B's order is ordinary pair by pair to a
// model of both programs (of pairs: order 2), but not to a model of A.
func TestLocal(t *testing.T) {
	var train [][]int32
	for i := range 20 {
		train = append(train, loop([]int32{1, 2, 3, 4, 5}, 10+i), loop([]int32{1, 3, 2, 4, 6}, 10+i))
	}
	aRun, reordered := loop([]int32{1, 2, 3, 4, 5}, 15), loop([]int32{1, 3, 2, 4, 5}, 15)
	m := newLocal(2)
	m.train(train, 0)
	loc := make([]float64, 2)
	m.scores([][]int32{aRun, reordered}, loc)
	g := newNgramModel(2)
	for _, s := range train {
		g.add(s)
	}
	var st seqStats
	glob := make([]float64, 2)
	for i, s := range [][]int32{aRun, reordered} {
		g.stats(s, &st)
		glob[i] = st.nll / float64(len(s))
	}
	if !(loc[1] > loc[0]) || !(loc[1]-loc[0] > 2*(glob[1]-glob[0])) {
		t.Errorf("local NLL %.3f → %.3f, global %.3f → %.3f: want the local rise more than twice the global", loc[0], loc[1], glob[0], glob[1])
	}
	empty := []float64{-1}
	if m.scores([][]int32{nil}, empty); empty[0] != 0 {
		t.Errorf("empty trace: %v, want 0", empty[0])
	}
}
