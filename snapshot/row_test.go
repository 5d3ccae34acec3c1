package snapshot

import (
	"math"
	"slices"
	"testing"

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
