package dataset

import (
	"math"
	"strconv"
	"strings"

	"imgward/errors"
)

// parseNumber parses a finite number; NaN, Inf and empty fields are not
// numbers.
func parseNumber(s string) (float64, bool) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

// NumericColumns returns, in header order, the columns whose field parses
// as a finite number in every row, leaving out the columns named in
// exclude. A table without rows has no numeric columns.
func (t *Table) NumericColumns(exclude ...string) []string {
	if len(t.Rows) == 0 {
		return nil
	}
	skip := make(map[string]bool, len(exclude))
	for _, e := range exclude {
		skip[e] = true
	}
	var cols []string
	for j, name := range t.Header {
		if skip[name] {
			continue
		}
		numeric := true
		for _, row := range t.Rows {
			if _, ok := parseNumber(row[j]); !ok {
				numeric = false
				break
			}
		}
		if numeric {
			cols = append(cols, name)
		}
	}
	return cols
}

// Matrix returns the values of the named columns in the given rows (all
// rows when rows is nil). A field that is not a finite number is an error
// of kind Invalid naming its line and column.
func (t *Table) Matrix(rows []int, cols []string) ([][]float64, error) {
	const op = "dataset.Matrix"
	idx := make([]int, len(cols))
	for k, c := range cols {
		j, err := t.Column(c)
		if err != nil {
			return nil, err
		}
		idx[k] = j
	}
	rows = t.all(rows)
	flat := make([]float64, len(rows)*len(cols))
	X := make([][]float64, len(rows))
	for i, r := range rows {
		X[i] = flat[i*len(cols) : (i+1)*len(cols) : (i+1)*len(cols)]
		for k, j := range idx {
			v, ok := parseNumber(t.Rows[r][j])
			if !ok {
				return nil, errors.E(op, errors.Invalid,
					errors.Errorf("line %d, column %q: %q is not a finite number", r+2, cols[k], t.Rows[r][j]))
			}
			X[i][k] = v
		}
	}
	return X, nil
}

// Strings returns the fields of a column in the given rows (all rows when
// rows is nil).
func (t *Table) Strings(rows []int, col string) ([]string, error) {
	j, err := t.Column(col)
	if err != nil {
		return nil, err
	}
	rows = t.all(rows)
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = t.Rows[r][j]
	}
	return out, nil
}

// Where returns the indices of the rows whose column col equals value.
func (t *Table) Where(col, value string) ([]int, error) {
	j, err := t.Column(col)
	if err != nil {
		return nil, err
	}
	var rows []int
	for i, row := range t.Rows {
		if row[j] == value {
			rows = append(rows, i)
		}
	}
	return rows, nil
}

// all returns rows, or every row index when rows is nil.
func (t *Table) all(rows []int) []int {
	if rows != nil {
		return rows
	}
	rows = make([]int, len(t.Rows))
	for i := range rows {
		rows[i] = i
	}
	return rows
}

// Sequences parses the traces of column col in the given rows (all rows
// when rows is nil) with ParseSequence and the table's MaxSequence limit.
func (t *Table) Sequences(rows []int, col string) ([][]int32, error) {
	const op = "dataset.Sequences"
	j, err := t.Column(col)
	if err != nil {
		return nil, err
	}
	rows = t.all(rows)
	out := make([][]int32, len(rows))
	for i, r := range rows {
		s, err := ParseSequence(t.Rows[r][j], t.limits.MaxSequence)
		if err != nil {
			return nil, errors.E(op, errors.KindOf(err), errors.Errorf("line %d, column %q: %w", r+2, col, cause(err)))
		}
		out[i] = s
	}
	return out, nil
}

// cause returns the cause of an *errors.Error, or err itself, so that an
// error can be retold with more context without repeating its kind.
func cause(err error) error {
	var e *errors.Error
	if errors.As(err, &e) && e.Err != nil {
		return e.Err
	}
	return err
}

// Subset returns a table of the given rows of t, in that order, sharing
// their fields and t's header and limits: an evaluation's test rows
// without the rows it trained on.
func (t *Table) Subset(rows []int) *Table {
	s := &Table{Header: t.Header, Rows: make([][]string, len(rows)), limits: t.limits, index: t.index}
	for i, r := range rows {
		s.Rows[i] = t.Rows[r]
	}
	return s
}
