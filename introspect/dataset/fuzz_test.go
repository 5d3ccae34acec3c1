package dataset

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
)

func FuzzRead(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte("a,b\n\"1\",\"x\"\"y\"\n"))
	f.Add([]byte("a\n\"\n\n\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := Limits{MaxBytes: 4096, MaxRowBytes: 256, MaxColumns: 16, MaxRows: 64, MaxSequence: 32}
		tab, err := Read(bytes.NewReader(data), lim)
		if err != nil {
			return
		}
		if len(tab.Header) > 16 || len(tab.Rows) > 64 {
			t.Fatalf("limits exceeded: %d columns, %d rows", len(tab.Header), len(tab.Rows))
		}
		cols := tab.NumericColumns()
		X, err := tab.Matrix(nil, cols)
		if err != nil {
			t.Fatalf("Matrix of numeric columns %v: %v", cols, err)
		}
		if len(X) != len(tab.Rows) {
			t.Fatalf("%d vectors for %d rows", len(X), len(tab.Rows))
		}
		for _, c := range tab.Header {
			if seqs, err := tab.Sequences(nil, c); err == nil {
				for _, s := range seqs {
					if len(s) == 0 || len(s) > 32 {
						t.Fatalf("trace of %d elements", len(s))
					}
				}
			}
		}
	})
}

func FuzzParseSequence(f *testing.F) {
	for _, s := range []string{"1 2 3", "", "-2147483648", "9 x", " \t4\t"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		seq, err := ParseSequence(s, 100)
		if err != nil {
			return
		}
		if len(seq) == 0 || len(seq) > 100 {
			t.Fatalf("%d elements", len(seq))
		}
		// What parsed must be the fields of s, written back alike.
		fields := strings.Fields(strings.ReplaceAll(s, "\t", " "))
		if len(fields) != len(seq) {
			t.Fatalf("%q: %d fields, %d elements", s, len(fields), len(seq))
		}
		for i, v := range seq {
			n, err := strconv.ParseInt(fields[i], 10, 32)
			if err != nil || int32(n) != v {
				t.Fatalf("%q: element %d is %d, field %q", s, i, v, fields[i])
			}
		}
	})
}
