package fleet

import (
	"fmt"
	"math"
	"reflect"
	"testing"

	"imgward/errors"
	"imgward/snapshot"
)

func put(t *testing.T, f *Fleet, s report) {
	t.Helper()
	if err := f.put(s); err != nil {
		t.Fatal(err)
	}
}

func param(t *testing.T, st State, name string) Value {
	t.Helper()
	for _, v := range st.Numeric {
		if v.Name == name {
			return v
		}
	}
	t.Fatalf("%s: no parameter %q in %+v", st.ID, name, st)
	return Value{}
}

func near(a, b, rel float64) bool { return math.Abs(a-b) <= rel*max(1, math.Abs(b)) }

func TestStrategies(t *testing.T) {
	f := New(Config{Params: map[string]Param{
		"cpu":  {Strategy: Max, Weight: 3},
		"rss":  {Strategy: Quantile, Q: 0.5},
		"conn": {}, // mean
	}})
	for i, x := range []float64{10, 20, 30, 40} {
		put(t, f, report{
			Instance: fmt.Sprint("i", i), Image: "img", Publisher: "pub", Weight: float64(i + 1),
			Names: []string{"cpu", "rss"}, Values: []float64{x, x},
			Numeric: map[string]float64{"conn": x},
		})
	}
	st, ok := f.Publisher("pub")
	if !ok || st.Instances != 4 || st.Weight != 10 {
		t.Fatalf("state %+v, %v", st, ok)
	}
	// Weights 1..4 on 10..40: mean (10+40+90+160)/10 = 30.
	if v := param(t, st, "conn"); v.Value != 30 || v.Strategy != Mean || v.Weight != 1 || v.Coverage != 1 {
		t.Errorf("conn = %+v", v)
	}
	if v := param(t, st, "cpu"); !near(v.Value, 40, 0.01) || v.Weight != 3 {
		t.Errorf("cpu = %+v, want max 40", v)
	}
	// Weighted median: weights 1,2,3,4 → half the weight (5) is reached at 30.
	if v := param(t, st, "rss"); !near(v.Value, 30, 0.01) {
		t.Errorf("rss = %+v, want 30", v)
	}
}

func TestReplaceSubtractsTheOldReport(t *testing.T) {
	f := New(Config{Params: map[string]Param{"cpu": {Strategy: Max}}})
	put(t, f, report{Instance: "a", Image: "img1", Publisher: "p", Numeric: map[string]float64{"cpu": 90, "mem": 1}})
	put(t, f, report{Instance: "b", Image: "img1", Publisher: "p", Numeric: map[string]float64{"cpu": 10, "mem": 3}})
	put(t, f, report{Instance: "a", Image: "img2", Publisher: "p", Numeric: map[string]float64{"cpu": 20, "mem": 5}})
	st, _ := f.Publisher("p")
	if v := param(t, st, "cpu"); !near(v.Value, 20, 0.01) {
		t.Errorf("cpu max = %v, want 20 once a's 90 is replaced", v.Value)
	}
	if v := param(t, st, "mem"); v.Value != 4 {
		t.Errorf("mem mean = %v, want 4", v.Value)
	}
	if st, _ := f.Image("img1"); st.Instances != 1 {
		t.Errorf("img1 has %d instances, want 1 after a moved", st.Instances)
	}
	f.Remove("a")
	f.Remove("a") // twice is fine
	if _, ok := f.Image("img2"); ok {
		t.Errorf("img2 still has a state after its only instance left")
	}
	if v, ok := f.PublisherValue("p", "mem"); !ok || v != 3 {
		t.Errorf("PublisherValue(mem) = %v, %v", v, ok)
	}
	if got := f.Publishers(); !reflect.DeepEqual(got, []string{"p"}) {
		t.Errorf("Publishers = %v", got)
	}
	f.Remove("b")
	if f.Instances() != 0 || len(f.Publishers()) != 0 || len(f.values.ids) != 0 {
		t.Errorf("not empty after removing everything")
	}
}

func TestSets(t *testing.T) {
	f := New(Config{})
	put(t, f, report{Instance: "a", Image: "i", Publisher: "p", Weight: 2,
		Sets: map[string][]string{"ports": {"22", "443", "443"}}})
	put(t, f, report{Instance: "b", Image: "i", Publisher: "p",
		Sets: map[string][]string{"ports": {"443", "6667"}}})
	put(t, f, report{Instance: "c", Image: "i", Publisher: "p", Sets: map[string][]string{"ports": nil}})
	put(t, f, report{Instance: "d", Image: "i", Publisher: "p", Numeric: map[string]float64{"x": 1}})
	st, _ := f.Image("i")
	if len(st.Sets) != 1 {
		t.Fatalf("sets %+v", st.Sets)
	}
	s := st.Sets[0]
	// a (2), b (1), c (1) report ports; d does not.
	want := Set{Name: "ports", Weight: 1, Coverage: 0.8, Dominant: "443", Prevalence: 0.75,
		Values: []Share{{"443", 0.75}, {"22", 0.5}, {"6667", 0.25}}}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("ports = %+v\nwant    %+v", s, want)
	}
	put(t, f, report{Instance: "a", Image: "i", Publisher: "p", Sets: map[string][]string{"ports": {"6667"}}})
	st, _ = f.Image("i")
	if s := st.Sets[0]; s.Dominant != "6667" || s.Prevalence != 2.0/3 {
		t.Errorf("after a's new report: %+v", s)
	}
	if _, ok := f.values.ids["22"]; ok {
		t.Errorf("value 22 still interned after no instance reports it")
	}
}

func TestRejectedSnapshotChangesNothing(t *testing.T) {
	f := New(Config{Limits: Limits{Params: 3, SetValues: 2, ValueLength: 8, Instances: 1}})
	good := report{Instance: "a", Image: "i", Publisher: "p", Numeric: map[string]float64{"x": 1}}
	put(t, f, good)
	before, _ := f.Publisher("p")
	for _, tc := range []struct {
		name string
		s    report
		kind errors.Kind
	}{
		{"no image", report{Instance: "a", Publisher: "p"}, errors.Invalid},
		{"NaN", report{Instance: "a", Image: "i", Publisher: "p", Numeric: map[string]float64{"x": math.NaN()}}, errors.Invalid},
		{"Inf", report{Instance: "a", Image: "i", Publisher: "p", Names: []string{"x"}, Values: []float64{math.Inf(-1)}}, errors.Invalid},
		{"names and values", report{Instance: "a", Image: "i", Publisher: "p", Names: []string{"x"}}, errors.Invalid},
		{"twice", report{Instance: "a", Image: "i", Publisher: "p", Names: []string{"x"}, Values: []float64{1}, Numeric: map[string]float64{"x": 2}}, errors.Invalid},
		{"weight", report{Instance: "a", Image: "i", Publisher: "p", Weight: -1}, errors.Invalid},
		{"kind changes", report{Instance: "a", Image: "i", Publisher: "p", Sets: map[string][]string{"x": {"1"}}}, errors.Invalid},
		{"too many params", report{Instance: "a", Image: "i", Publisher: "p", Numeric: map[string]float64{"y": 1, "z": 1, "w": 1}}, errors.TooLarge},
		{"too many values", report{Instance: "a", Image: "i", Publisher: "p", Sets: map[string][]string{"s": {"1", "2", "3"}}}, errors.TooLarge},
		{"long value", report{Instance: "a", Image: "i", Publisher: "p", Sets: map[string][]string{"s": {"123456789"}}}, errors.TooLarge},
		{"too many instances", report{Instance: "b", Image: "i", Publisher: "p"}, errors.TooLarge},
	} {
		if err := f.put(tc.s); !errors.Is(tc.kind, err) {
			t.Errorf("%s: err = %v, want kind %v", tc.name, err, tc.kind)
		}
	}
	after, _ := f.Publisher("p")
	if !reflect.DeepEqual(before, after) || f.Instances() != 1 {
		t.Errorf("state changed by rejected snapshots:\n%+v\n%+v", before, after)
	}
}

func TestSketchAccuracy(t *testing.T) {
	var s sketch
	for i := 1; i <= 1000; i++ {
		s.add(float64(i), 1)
		s.add(-float64(i), 1)
	}
	s.add(0, 1)
	for _, tc := range []struct{ q, want float64 }{{1, 1000}, {0.75, 500}, {0.5, 0}, {0.25, -500}, {0, -1000}} {
		if got := s.quantile(tc.q); !near(got, tc.want, 0.011) {
			t.Errorf("quantile(%v) = %v, want %v within 1%%", tc.q, got, tc.want)
		}
	}
	for i := 1; i <= 1000; i++ {
		s.add(float64(i), -1)
		s.add(-float64(i), -1)
	}
	if got := s.quantile(1); got != 0 {
		t.Errorf("after removals, max = %v, want 0", got)
	}
}

// TestPutSnapshot checks the public entry points: Put folds a snapshot's
// numbers and sets, PutValues a vector, into the member's image and
// publisher.
func TestPutSnapshot(t *testing.T) {
	f := New(Config{})
	s := &snapshot.Snapshot{InstanceID: "i-00000000000000a1", Numeric: map[string]float64{"cpu": 4},
		Sets: map[string][]string{"ports": {"22"}}}
	if err := f.Put(Member{Instance: "a", Image: "i", Publisher: "p", Weight: 3}, s); err != nil {
		t.Fatal(err)
	}
	if err := f.PutValues(Member{Instance: "b", Image: "i", Publisher: "p"}, []string{"cpu"}, []float64{8}); err != nil {
		t.Fatal(err)
	}
	st, _ := f.Image("i")
	if v := param(t, st, "cpu"); v.Value != 5 || st.Instances != 2 || len(st.Sets) != 1 || st.Sets[0].Dominant != "22" {
		t.Errorf("state %+v", st)
	}
	if err := f.PutValues(Member{Instance: "c", Image: "i", Publisher: "p"}, []string{"cpu"}, nil); !errors.Is(errors.Invalid, err) {
		t.Errorf("names without values: %v", err)
	}
}

// TestSeq checks that a report received earlier (lower Seq) never replaces
// one received later, whatever order Put sees them in, on both of Put's
// paths (same sets: numbers only; other sets: the whole report).
func TestSeq(t *testing.T) {
	f := New(Config{})
	type report struct {
		seq uint64
		s   *snapshot.Snapshot
	}
	snap := func(seq uint64, cpu float64, procs ...string) report {
		return report{seq, &snapshot.Snapshot{Numeric: map[string]float64{"cpu": cpu}, Sets: map[string][]string{"procs": procs}}}
	}
	steps := []struct {
		r        report
		cpu      float64
		dominant string
	}{
		{snap(2, 20, "nginx"), 20, "nginx"},
		{snap(1, 10, "nginx"), 20, "nginx"}, // earlier, same sets: ignored
		{snap(1, 10, "xmrig"), 20, "nginx"}, // earlier, other sets: ignored
		{snap(3, 30, "nginx"), 30, "nginx"}, // later, same sets
		{snap(4, 40, "xmrig"), 40, "xmrig"}, // later, other sets
		{snap(3, 35, "nginx"), 40, "xmrig"}, // earlier again
		{snap(0, 50, "sshd"), 50, "sshd"},   // unordered: replaces
		{snap(5, 60, "sshd"), 60, "sshd"},
	}
	for i, st := range steps {
		if err := f.Put(Member{Instance: "i", Image: "img", Publisher: "pub", Seq: st.r.seq}, st.r.s); err != nil {
			t.Fatal(err)
		}
		got, _ := f.Publisher("pub")
		if v := param(t, got, "cpu"); v.Value != st.cpu || got.Sets[0].Dominant != st.dominant || got.Instances != 1 {
			t.Errorf("step %d (seq %d): cpu %v, dominant %q, %d instances; want %v, %q, 1", i, st.r.seq, v.Value,
				got.Sets[0].Dominant, got.Instances, st.cpu, st.dominant)
		}
	}
}

// TestPutNumericRow checks that a snapshot whose numbers are a
// snapshot.NumericRow, as decoded ones are, folds into the state that the
// same numbers in a map give, and is refused the same way when a number is
// also a set.
func TestPutNumericRow(t *testing.T) {
	byMap, byRow := New(Config{}), New(Config{})
	names := []string{"cpu", "rss", "conns"}
	for i := range 5 {
		values := []float64{float64(i), 100 + float64(i*i), 3}
		m := &snapshot.Snapshot{Numeric: map[string]float64{}, Sets: map[string][]string{"ports": {"22"}}}
		for k, n := range names {
			m.Numeric[n] = values[k]
		}
		r := &snapshot.Snapshot{Sets: m.Sets}
		r.SetNumeric(names, values)
		if _, _, ok := r.NumericRow(); !ok {
			t.Fatal("SetNumeric gave no NumericRow")
		}
		member := Member{Instance: fmt.Sprint("i", i%3), Image: "img", Publisher: "p"}
		if err := byMap.Put(member, m); err != nil {
			t.Fatal(err)
		}
		if err := byRow.Put(member, r); err != nil {
			t.Fatal(err)
		}
	}
	a, _ := byMap.Image("img")
	b, _ := byRow.Image("img")
	if !reflect.DeepEqual(a, b) {
		t.Errorf("from maps %+v, from rows %+v", a, b)
	}
	both := &snapshot.Snapshot{Sets: map[string][]string{"cpu": {"x"}}}
	both.SetNumeric(names, []float64{1, 2, 3})
	if err := byRow.Put(Member{Instance: "x", Image: "img", Publisher: "p"}, both); !errors.Is(errors.Invalid, err) {
		t.Errorf("a name both a number and a set: %v", err)
	}
}
