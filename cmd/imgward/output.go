package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// outputFormat is the value of --output.
type outputFormat string

const (
	outputTable outputFormat = "table"
	outputJSON  outputFormat = "json"
)

func (f *outputFormat) String() string { return string(*f) }

// Set implements flag.Value.
func (f *outputFormat) Set(s string) error {
	switch outputFormat(s) {
	case outputTable, outputJSON:
		*f = outputFormat(s)
		return nil
	}
	return fmt.Errorf("want table or json")
}

// emit prints v as indented JSON with --output json, and calls table
// otherwise.
func (e *env) emit(v any, table func(w io.Writer) error) error {
	if e.output == outputJSON {
		return writeJSON(e.stdout, v)
	}
	return table(e.stdout)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// emitObject prints one object from the server: as it came with --output
// json, as name/value lines otherwise, the keys in order first.
func (e *env) emitObject(raw json.RawMessage, order []string, skip ...string) error {
	var o object
	if err := decode(bytes.NewReader(raw), &o); err != nil {
		return err
	}
	return e.emit(raw, func(w io.Writer) error { return showObject(w, o, order, skip...) })
}

// emitList prints a list of objects from the server: a JSON array with
// --output json, a table with the header's columns otherwise.
func (e *env) emitList(raws []json.RawMessage, header []string, row func(object) []string) error {
	if raws == nil {
		raws = []json.RawMessage{}
	}
	objs, err := objects(raws)
	if err != nil {
		return err
	}
	return e.emit(raws, func(w io.Writer) error {
		t := newTable(w, header...)
		for _, o := range objs {
			t.row(row(o)...)
		}
		return t.flush()
	})
}

// table writes aligned columns.
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer, header ...string) *table {
	t := &table{tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	t.row(header...)
	return t
}

// row writes a row; cells are cleaned, so that a tab or an escape sequence
// from the server can neither break the columns nor reach the terminal.
func (t *table) row(cells ...string) {
	for i, c := range cells {
		if i > 0 {
			io.WriteString(t.tw, "\t")
		}
		io.WriteString(t.tw, clean(c))
	}
	io.WriteString(t.tw, "\n")
}

func (t *table) flush() error { return t.tw.Flush() }

// fields writes name, value pairs as two aligned columns.
func fields(w io.Writer, pairs ...string) error {
	t := &table{tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	for i := 0; i+1 < len(pairs); i += 2 {
		t.row(pairs[i], pairs[i+1])
	}
	return t.flush()
}

// clean replaces control characters (C0, DEL, C1, and the bidirectional
// overrides) with '?'.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r < ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return '?'
		case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			return '?'
		}
		return r
	}, s)
}

// text formats a decoded JSON value for a table cell: strings and numbers
// as they are, null as empty, lists joined by commas.
func text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		if x {
			return "true"
		}
		return "false"
	case []any:
		s := make([]string, len(x))
		for i, e := range x {
			s[i] = text(e)
		}
		return strings.Join(s, ",")
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// object is a JSON object decoded with json.Number, as the server sent it.
type object map[string]any

func (o object) s(key string) string { return text(o[key]) }

// num formats the number under key with prec decimals. The server's
// numbers decode as json.Number, a string, which a %f verb would print as
// %!f(json.Number=10); anything but a number is shown as text shows it.
func (o object) num(key string, prec int) string {
	n, ok := o[key].(json.Number)
	if !ok {
		return o.s(key)
	}
	f, err := n.Float64()
	if err != nil {
		return n.String()
	}
	return strconv.FormatFloat(f, 'f', prec, 64)
}

// objects decodes raw JSON objects.
func objects(raws []json.RawMessage) ([]object, error) {
	objs := make([]object, len(raws))
	for i, r := range raws {
		if err := decode(bytes.NewReader(r), &objs[i]); err != nil {
			return nil, err
		}
	}
	return objs, nil
}

// showObject writes the keys of o, those in order first, then the rest
// sorted; keys in skip are left out.
func showObject(w io.Writer, o object, order []string, skip ...string) error {
	var pairs []string
	for _, k := range order {
		if _, ok := o[k]; ok {
			pairs = append(pairs, k, o.s(k))
		}
	}
	var rest []string
	for k := range o {
		if !slices.Contains(order, k) && !slices.Contains(skip, k) {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	for _, k := range rest {
		pairs = append(pairs, k, o.s(k))
	}
	return fields(w, pairs...)
}

// size formats a byte count in binary units: 512 B, 1.5 KiB, 3.0 GiB.
func size(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	f, unit := float64(n), 0
	for f >= 1024 && unit < 6 {
		f, unit = f/1024, unit+1
	}
	return fmt.Sprintf("%.1f %ciB", f, "BKMGTPE"[unit])
}
