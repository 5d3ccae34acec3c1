package trace

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// occurs reports whether w is a contiguous subsequence of one of seqs.
func occurs(seqs [][]int32, w []int32) bool {
	for _, s := range seqs {
		for i := 0; i+len(w) <= len(s); i++ {
			if slices.Equal(s[i:i+len(w)], w) {
				return true
			}
		}
	}
	return false
}

// naiveMatches is matches by brute force: the longest w ending at t[i]
// that occurs in seqs.
func naiveMatches(seqs [][]int32, t []int32) []int32 {
	ms := make([]int32, len(t))
	for i := range t {
		for l := i + 1; l > 0; l-- {
			if occurs(seqs, t[i+1-l:i+1]) {
				ms[i] = int32(l)
				break
			}
		}
	}
	return ms
}

// naiveSegments is segments by brute force: from each start, the longest
// prefix that occurs, or one call.
func naiveSegments(seqs [][]int32, t []int32) int {
	n := 0
	for p := 0; p < len(t); n++ {
		l := len(t) - p
		for l > 1 && !occurs(seqs, t[p:p+l]) {
			l--
		}
		p += l
	}
	return n
}

// TestAutomaton checks the suffix automaton's matches and greedy
// covering against brute force on random traces over small alphabets
// (many repeats, so clones and suffix links are exercised), with calls
// the training traces lack.
func TestAutomaton(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n, alphabet int) []int32 {
		s := make([]int32, n)
		for i := range s {
			s[i] = int32(rng.IntN(alphabet))
		}
		return s
	}
	for round := range 200 {
		alphabet := 2 + round%5
		var train [][]int32
		for range 1 + rng.IntN(4) {
			train = append(train, random(rng.IntN(30), alphabet))
		}
		a := newAutomaton(train)
		if states := len(a.length); states > 2*(totalLen(train)+len(train))+1 {
			t.Fatalf("round %d: %d states for %d elements", round, states, totalLen(train))
		}
		for range 5 {
			q := random(rng.IntN(40), alphabet+1) // alphabet itself is unseen
			if got, want := a.matches(q, nil), naiveMatches(train, q); !slices.Equal(got, want) {
				t.Fatalf("round %d: matches(%v) in %v = %v, want %v", round, q, train, got, want)
			}
			if got, want := a.segments(q), naiveSegments(train, q); got != want {
				t.Fatalf("round %d: segments(%v) in %v = %d, want %d", round, q, train, got, want)
			}
		}
	}
}

func totalLen(seqs [][]int32) int {
	n := 0
	for _, s := range seqs {
		n += len(s)
	}
	return n
}

// TestAutomatonSeparates checks that a match does not run from one
// training trace into the next: 1 2 | 3 4 does not contain 2 3.
func TestAutomatonSeparates(t *testing.T) {
	a := newAutomaton([][]int32{{1, 2}, {3, 4}})
	for _, tt := range []struct {
		q        []int32
		segments int
		matches  []int32
	}{
		{[]int32{1, 2, 3, 4}, 2, []int32{1, 2, 1, 2}},
		{[]int32{2, 3}, 2, []int32{1, 1}},
		{[]int32{1, 9, 2}, 3, []int32{1, 0, 1}},
		{nil, 0, []int32{}},
	} {
		if got := a.segments(tt.q); got != tt.segments {
			t.Errorf("segments(%v) = %d, want %d", tt.q, got, tt.segments)
		}
		if got := a.matches(tt.q, nil); !slices.Equal(got, tt.matches) {
			t.Errorf("matches(%v) = %v, want %v", tt.q, got, tt.matches)
		}
	}
}

// TestCover checks each covering model's score: a training trace is
// fully familiar, a splice of two programs' runs is less, new calls least.
func TestCover(t *testing.T) {
	var train [][]int32
	for i := range 20 {
		train = append(train, loop([]int32{1, 2, 3, 4, 5}, 30+i), loop([]int32{6, 7, 8, 9}, 30+i))
	}
	known := loop([]int32{1, 2, 3, 4, 5}, 40)
	// B's loop with A's calls in it: every pair of calls was made, but
	// only by one program or at a run's end.
	spliced := slices.Concat(loop([]int32{6, 7, 8, 9}, 12), loop([]int32{1, 2, 3, 4, 5}, 7),
		loop([]int32{6, 7, 8, 9}, 12), loop([]int32{1, 2, 3, 4, 5}, 7))
	novel := loop([]int32{1, 20, 3, 21, 5}, 40)
	for _, tt := range []struct {
		kind coverKind
		name string
	}{
		{coverSegments, "cover"}, {coverNear, "covnear"}, {matchMean10, "match10"},
		{matchMean20, "match20"}, {matchLow, "matchlow"},
	} {
		m := newCover(tt.kind)
		m.train(train, 0)
		s := make([]float64, 4)
		m.scores([][]int32{known, spliced, novel, nil}, s)
		if !(s[0] < s[1] && s[1] < s[2]) || s[0] < 0 || s[2] > 1 || s[3] != 0 {
			t.Errorf("%s: known %.3f, spliced %.3f, novel %.3f, empty %.3f: want 0 ≤ known < spliced < novel ≤ 1, empty 0",
				tt.name, s[0], s[1], s[2], s[3])
		}
		if tt.kind == coverSegments || tt.kind == matchMean10 {
			if s[0] > 0.05 {
				t.Errorf("%s: a training trace scores %.3f, want about 0", tt.name, s[0])
			}
		}
	}
}

// TestShortfall pins the match-length summaries on a known list.
func TestShortfall(t *testing.T) {
	ms := []int32{0, 5, 10, 40, 20, 20, 20, 20, 20, 20}
	for _, tt := range []struct {
		kind coverKind
		want float64
	}{
		{matchMean10, 1 - (0+5+10+10+10*6)/10.0/10},
		{matchMean20, 1 - (0+5+10+20+20*6)/10.0/20},
		{matchLow, 1 - 0/20.0}, // the lowest tenth of ten is the 0
	} {
		if got := tt.kind.shortfall(slices.Clone(ms)); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("kind %d: shortfall = %v, want %v", tt.kind, got, tt.want)
		}
	}
}
