// Package dataset replays labelled datasets as introspection data: it reads
// a CSV file into rows of numeric features and system-call traces
// (space-separated integers), and replays rows as snapshots. The models of
// traces live with the detectors, in package detect/trace.
//
// Every input is untrusted: Read enforces hard limits on the size of the
// file, of a row, of a trace and on the number of rows and columns, and
// reports the first violation as an error of kind TooLarge or Invalid, with
// the line where it was found.
package dataset

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"strings"

	"imgward/errors"
)

// Limits bound what Read accepts. A zero field means its default.
type Limits struct {
	MaxBytes    int64 // the whole input; default 1 GiB
	MaxRowBytes int   // one line; default 4 MiB
	MaxColumns  int   // default 4096
	MaxRows     int   // data rows; default 10,000,000
	MaxSequence int   // elements of one trace; default 1,000,000
}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = 1 << 30
	}
	if l.MaxRowBytes <= 0 {
		l.MaxRowBytes = 4 << 20
	}
	if l.MaxColumns <= 0 {
		l.MaxColumns = 4096
	}
	if l.MaxRows <= 0 {
		l.MaxRows = 10_000_000
	}
	if l.MaxSequence <= 0 {
		l.MaxSequence = 1_000_000
	}
	return l
}

// Table is a CSV file: a header of unique column names and rows of as many
// fields.
type Table struct {
	Header []string
	Rows   [][]string
	limits Limits
	index  map[string]int
}

// Read reads a CSV table with a header line from r within limits.
func Read(r io.Reader, limits Limits) (*Table, error) {
	const op = "dataset.Read"
	l := limits.withDefaults()
	lr := &lineLimiter{
		r:   bufio.NewReaderSize(io.LimitReader(r, l.MaxBytes+1), 64<<10),
		max: l.MaxRowBytes, limit: l.MaxBytes,
	}
	cr := csv.NewReader(lr)
	cr.FieldsPerRecord = 0 // every row as long as the header
	header, err := cr.Read()
	if err == io.EOF {
		return nil, errors.E(op, errors.Invalid, errors.New("empty input: no header line"))
	}
	if err != nil {
		return nil, readErr(op, lr, err)
	}
	if len(header) > l.MaxColumns {
		return nil, errors.E(op, errors.TooLarge,
			errors.Errorf("%d columns, more than the limit of %d", len(header), l.MaxColumns))
	}
	t := &Table{Header: header, limits: l, index: make(map[string]int, len(header))}
	for i, h := range header {
		h = strings.TrimSpace(h)
		if h == "" {
			return nil, errors.E(op, errors.Invalid, errors.Errorf("column %d has no name", i+1))
		}
		if _, dup := t.index[h]; dup {
			return nil, errors.E(op, errors.Invalid, errors.Errorf("column %q appears twice", h))
		}
		header[i] = h
		t.index[h] = i
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, readErr(op, lr, err)
		}
		if len(t.Rows) == l.MaxRows {
			return nil, errors.E(op, errors.TooLarge,
				errors.Errorf("more than the limit of %d rows", l.MaxRows))
		}
		t.Rows = append(t.Rows, rec)
	}
	return t, nil
}

// readErr classifies an error of the CSV reader.
func readErr(op string, lr *lineLimiter, err error) error {
	if lr.err != nil {
		return errors.E(op, errors.TooLarge, lr.err)
	}
	return errors.E(op, errors.Invalid, err)
}

// Column returns the index of the named column, or an error of kind
// Invalid that lists the columns.
func (t *Table) Column(name string) (int, error) {
	if i, ok := t.index[name]; ok {
		return i, nil
	}
	cols := strings.Join(t.Header[:min(len(t.Header), 12)], ",")
	if len(t.Header) > 12 {
		cols += fmt.Sprintf(",... (%d columns)", len(t.Header))
	}
	return -1, errors.E("dataset.Column", errors.Invalid, errors.Errorf("no column %q (columns: %s)", name, cols))
}

// lineLimiter passes bytes through and fails once a line grows past max
// bytes or the whole input past left bytes, so that no CSV field can make
// the reader buffer without bound.
type lineLimiter struct {
	r     *bufio.Reader
	max   int   // bytes in a line
	limit int64 // bytes in all
	line  int   // bytes in the current line
	read  int64 // bytes in all so far
	n     int   // lines seen, for messages
	err   error
}

func (l *lineLimiter) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	n, err := l.r.Read(p)
	for i, b := range p[:n] {
		l.line++
		if b == '\n' {
			l.line, l.n = 0, l.n+1
		}
		if l.line > l.max {
			l.err = errors.Errorf("line %d is longer than the limit of %d bytes", l.n+1, l.max)
			return i, l.err
		}
	}
	if l.read += int64(n); l.read > l.limit {
		l.err = errors.Errorf("input is larger than the limit of %d bytes", l.limit)
		return 0, l.err
	}
	return n, err
}
