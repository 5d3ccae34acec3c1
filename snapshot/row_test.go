package snapshot

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp/cmpopts"
)

// ignoreRow leaves NumericRow's view out of comparisons of snapshots:
// checkRow checks it against Numeric.
var ignoreRow = cmpopts.IgnoreUnexported(Snapshot{})

// checkRow fails unless names and values hold numeric's entries, each
// name once, bit for bit; names may be nil when a name repeated.
func checkRow(t *testing.T, numeric map[string]float64, names []string, values []float64) {
	t.Helper()
	if len(names) != len(numeric) {
		return // a repeated name: Parse drops the view
	}
	if len(values) != len(names) {
		t.Fatalf("%d names, %d values", len(names), len(values))
	}
	for k, n := range names {
		v, ok := numeric[n]
		if !ok || math.Float64bits(v) != math.Float64bits(values[k]) {
			t.Fatalf("row has %s = %v, Numeric %v (present %v)", n, values[k], v, ok)
		}
	}
}

func TestNumericRow(t *testing.T) {
	for _, tc := range []struct {
		name    string
		numeric string
		want    []string // nil: no view
	}{
		{"wire order", `{"b":1,"a":-0,"c":null}`, []string{"b", "a", "c"}},
		{"empty", `{}`, []string{}},
		{"repeated name", `{"a":1,"b":2,"a":3}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			line := `{"version":1,"instance_id":"i-0123456789abcdef","taken_at":"` + now.Format("2006-01-02T15:04:05Z07:00") +
				`","source":"sim","numeric":` + tc.numeric + `,"sets":{}}`
			s, err := Parse([]byte(line), now)
			if err != nil {
				t.Fatal(err)
			}
			names, values, ok := s.NumericRow()
			if ok != (tc.want != nil) {
				t.Fatalf("NumericRow ok = %v, want %v", ok, tc.want != nil)
			}
			if !ok {
				return
			}
			if !slices.Equal(names, tc.want) {
				t.Errorf("names %v, want %v", names, tc.want)
			}
			checkRow(t, s.Numeric, names, values)
		})
	}
}

func TestSetNumeric(t *testing.T) {
	var s Snapshot
	names := []string{"x", "y"}
	s.SetNumeric(names, []float64{1, 2})
	if got, _, ok := s.NumericRow(); !ok || &got[0] != &names[0] {
		t.Fatalf("NumericRow does not give the names set: %v %v", got, ok)
	}
	if s.Numeric["x"] != 1 || s.Numeric["y"] != 2 || len(s.Numeric) != 2 {
		t.Fatalf("Numeric = %v", s.Numeric)
	}
	s.Numeric["z"] = 3 // changed in place: the view no longer holds
	if _, _, ok := s.NumericRow(); ok {
		t.Error("NumericRow still given after Numeric grew")
	}
	s.SetNumeric([]string{"a", "a"}, []float64{1, 2})
	if _, _, ok := s.NumericRow(); ok || s.Numeric["a"] != 2 {
		t.Errorf("repeated name: view %v, Numeric %v", ok, s.Numeric)
	}
	lit := Snapshot{Numeric: map[string]float64{"a": 1}}
	if _, _, ok := lit.NumericRow(); ok {
		t.Error("a snapshot built without SetNumeric has a view")
	}
}

// TestLayoutShared checks that lines giving the same interned names in the
// same order share one names slice, and lines in another order do not.
func TestLayoutShared(t *testing.T) {
	parse := func(numeric string) []string {
		t.Helper()
		line := `{"version":1,"instance_id":"i-0123456789abcdef","taken_at":"` + now.Format(time.RFC3339Nano) +
			`","source":"sim","numeric":` + numeric + `,"sets":{}}`
		s, err := Parse([]byte(line), now)
		if err != nil {
			t.Fatal(err)
		}
		names, _, ok := s.NumericRow()
		if !ok {
			t.Fatalf("%s: no NumericRow", numeric)
		}
		return names
	}
	// TestIntern may have filled the table of names: use names it holds.
	for _, n := range []string{"intern_test_1", "intern_test_2"} {
		if _, ok := internOK([]byte(n)); !ok {
			t.Fatalf("%s is not interned", n)
		}
	}
	a := parse(`{"intern_test_1":1,"intern_test_2":2}`)
	b := parse(`{"intern_test_1":3,"intern_test_2":4}`)
	c := parse(`{"intern_test_2":5,"intern_test_1":6}`)
	if &a[0] != &b[0] {
		t.Error("two lines of one order do not share their names")
	}
	if &a[0] == &c[0] || !slices.Equal(c, []string{"intern_test_2", "intern_test_1"}) {
		t.Errorf("a line of another order has names %v, shared %v", c, &a[0] == &c[0])
	}
}
