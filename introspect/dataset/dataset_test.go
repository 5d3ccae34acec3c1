package dataset

import (
	"reflect"
	"strings"
	"testing"

	"imgward/errors"
)

const sample = `id,a,b,label,trace
x1,1,2.5,normal,1 2 3
x2,2,-1e3,normal,3 2 1
x3,3,7,attack,9 9 9
`

func read(t *testing.T, s string, l Limits) *Table {
	t.Helper()
	tab, err := Read(strings.NewReader(s), l)
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

func TestReadAndSelect(t *testing.T) {
	tab := read(t, sample, Limits{})
	if got := tab.NumericColumns("label"); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("NumericColumns = %v", got)
	}
	if got := tab.NumericColumns("b"); !reflect.DeepEqual(got, []string{"a"}) {
		t.Errorf("NumericColumns(exclude b) = %v", got)
	}
	rows, err := tab.Where("label", "normal")
	if err != nil || !reflect.DeepEqual(rows, []int{0, 1}) {
		t.Fatalf("Where = %v, %v", rows, err)
	}
	X, err := tab.Matrix(rows, []string{"b", "a"})
	if err != nil || !reflect.DeepEqual(X, [][]float64{{2.5, 1}, {-1000, 2}}) {
		t.Errorf("Matrix = %v, %v", X, err)
	}
	S, err := tab.Sequences(nil, "trace")
	if err != nil || !reflect.DeepEqual(S, [][]int32{{1, 2, 3}, {3, 2, 1}, {9, 9, 9}}) {
		t.Errorf("Sequences = %v, %v", S, err)
	}
	if _, err := tab.Matrix(nil, []string{"id"}); !errors.Is(errors.Invalid, err) ||
		!strings.Contains(err.Error(), `line 2, column "id"`) {
		t.Errorf("Matrix(id): %v", err)
	}
	if _, err := tab.Column("nope"); !errors.Is(errors.Invalid, err) {
		t.Errorf("Column(nope): %v", err)
	}
}

func TestReadErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		input string
		lim   Limits
		kind  errors.Kind
	}{
		{"empty", "", Limits{}, errors.Invalid},
		{"ragged", "a,b\n1,2\n3\n", Limits{}, errors.Invalid},
		{"bad quote", "a,b\n\"1,2\n", Limits{}, errors.Invalid},
		{"duplicate column", "a,a\n1,2\n", Limits{}, errors.Invalid},
		{"unnamed column", "a,\n1,2\n", Limits{}, errors.Invalid},
		{"long line", "a,b\n1," + strings.Repeat("9", 100) + "\n", Limits{MaxRowBytes: 50}, errors.TooLarge},
		{"long quoted field", "a\n\"" + strings.Repeat("x\n", 100) + "\"\n", Limits{MaxBytes: 100}, errors.TooLarge},
		{"many columns", "a,b,c\n1,2,3\n", Limits{MaxColumns: 2}, errors.TooLarge},
		{"many rows", "a\n1\n2\n3\n", Limits{MaxRows: 2}, errors.TooLarge},
		{"big input", "a\n" + strings.Repeat("1\n", 100), Limits{MaxBytes: 64}, errors.TooLarge},
	} {
		_, err := Read(strings.NewReader(tc.input), tc.lim)
		if !errors.Is(tc.kind, err) {
			t.Errorf("%s: err = %v, want kind %v", tc.name, err, tc.kind)
		}
	}
}

func TestParseSequence(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want []int32
		kind errors.Kind
	}{
		{"1 2 3", 0, []int32{1, 2, 3}, 0},
		{"  7\t8  ", 0, []int32{7, 8}, 0},
		{"-5 +6", 0, []int32{-5, 6}, 0},
		{"2147483647 -2147483648", 0, []int32{2147483647, -2147483648}, 0},
		{"", 0, nil, errors.Invalid},
		{"   ", 0, nil, errors.Invalid},
		{"1 x 3", 0, nil, errors.Invalid},
		{"1 2a", 0, nil, errors.Invalid},
		{"1 - 2", 0, nil, errors.Invalid},
		{"1.5", 0, nil, errors.Invalid},
		{"2147483648", 0, nil, errors.Invalid},
		{"99999999999999999999999", 0, nil, errors.Invalid},
		{"1 2 3", 2, nil, errors.TooLarge},
	} {
		got, err := ParseSequence(tc.in, tc.max)
		if tc.kind != 0 {
			if !errors.Is(tc.kind, err) {
				t.Errorf("ParseSequence(%q) err = %v, want kind %v", tc.in, err, tc.kind)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseSequence(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}
