package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestTable(t *testing.T) {
	var b bytes.Buffer
	tb := newTable(&b, "ID", "NAME")
	tb.row("1", "web")
	tb.row("22", "evil\tname\x1b[31m\u202e")
	if err := tb.flush(); err != nil {
		t.Fatal(err)
	}
	want := "ID  NAME\n1   web\n22  evil?name?[31m?\n"
	if b.String() != want {
		t.Errorf("table:\n%q\nwant\n%q", b.String(), want)
	}
}

func TestShowObject(t *testing.T) {
	var o object
	raw := `{"schema":"/v2/schemas/image","name":"cirros","id":"x","zeta":"z","size":null,"min_ram":1073741824,"tags":["a","b"],"protected":false,"alpha":"a"}`
	if err := decode(strings.NewReader(raw), &o); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := showObject(&b, o, imageOrder, imageLinks...); err != nil {
		t.Fatal(err)
	}
	want := "id         x\nname       cirros\nprotected  false\nmin_ram    1073741824\nsize       \ntags       a,b\nalpha      a\nzeta       z\n"
	if b.String() != want {
		t.Errorf("show:\n%s\nwant\n%s", b.String(), want)
	}
}

func TestEmitJSON(t *testing.T) {
	var b bytes.Buffer
	e := &env{stdout: &b, output: outputJSON}
	raws := []json.RawMessage{json.RawMessage(`{"id":"a","size":12345678901234}`)}
	if err := e.emitList(raws, []string{"ID"}, func(o object) []string { return []string{o.s("id")} }); err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	d := json.NewDecoder(&b)
	d.UseNumber()
	if err := d.Decode(&got); err != nil || len(got) != 1 || got[0]["size"] != json.Number("12345678901234") {
		t.Errorf("json output %v, %v", got, err)
	}
	b.Reset()
	if err := e.emitList(nil, []string{"ID"}, nil); err != nil || strings.TrimSpace(b.String()) != "[]" {
		t.Errorf("empty list printed %q, %v", b.String(), err)
	}
}

func TestSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", 5 << 30: "5.0 GiB", 1 << 62: "4.0 EiB"} {
		if got := size(n); got != want {
			t.Errorf("size(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestProgressRender(t *testing.T) {
	p := &progress{label: "cirros-0.6.2-x86_64-disk.img", total: 4 << 20, done: 1 << 20}
	tests := []struct {
		width, total int
		want         string // a substring
	}{
		{80, 4 << 20, "cirros-0.6.2-x86_64-disk.img [==>        ]    25%  1.0 MiB/4.0 MiB  512.0 KiB/s"},
		{100, 4 << 20, "cirros-0.6.2-x86_64-disk.img [=======>                       ]    25%"},
		{40, 4 << 20, "cirros...   25%  1.0 MiB/4.0 MiB  512.0"}, // too narrow for a bar
		{60, -1, "cirros-0.6.2-x86_64-disk.img  1.0 MiB  512.0 KiB/s    "},
		{5, 4 << 20, "c"},
		{1, 4 << 20, ""},
	}
	for _, tt := range tests {
		p.total = int64(tt.total)
		got := p.render(tt.width, 2*time.Second)
		if n := utf8.RuneCountInString(got); n != max(tt.width-1, 0) {
			t.Errorf("width %d: rendered %d columns: %q", tt.width, n, got)
		}
		if !strings.Contains(got, tt.want) {
			t.Errorf("width %d: %q does not hold %q", tt.width, got, tt.want)
		}
	}
	p.done, p.total = 4<<20, 4<<20
	if got := p.render(80, time.Second); !strings.Contains(got, "[==========") || !strings.Contains(got, "100%") || strings.Contains(got, ">") {
		t.Errorf("full: %q", got)
	}
}

func TestProgressDraws(t *testing.T) {
	var b bytes.Buffer
	now := time.Unix(0, 0)
	e := &env{stderr: &b, progressWidth: func() int { return 50 }}
	p := e.progress("x", 100)
	p.now = func() time.Time { return now }
	p.start = now
	p.Write(make([]byte, 10)) // draws: the first write
	now = now.Add(time.Millisecond)
	p.Write(make([]byte, 10)) // too soon to draw again
	p.finish()
	out := b.String()
	if strings.Count(out, "\r") != 2 || !strings.HasSuffix(out, "\n") || !strings.Contains(out, " 20%") {
		t.Errorf("progress drew %q", out)
	}
	var none *progress // stderr not a terminal
	if (&env{}).progress("x", 1) != nil || none.reader(&b) != &b {
		t.Error("progress without a terminal")
	}
	none.finish()
}

func TestContentMD5(t *testing.T) {
	for h, ok := range map[string]bool{
		"":                                 true,
		"d41d8cd98f00b204e9800998ecf8427e": true,
		"1B2M2Y8AsgTpgAmY7PhCfg==":         true,
		"d41d8cd9":                         false,
		"not md5":                          false,
	} {
		if _, err := contentMD5(h); (err == nil) != ok {
			t.Errorf("contentMD5(%q): %v", h, err)
		}
	}
}

// TestNum checks that numbers from the server, decoded as json.Number,
// print with fixed decimals: a %f verb printed %!f(json.Number=10).
func TestNum(t *testing.T) {
	var o object
	if err := decode(strings.NewReader(`{"a":10,"b":0.12345,"c":"x","d":null,"e":1e400}`), &o); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"a": "10.000", "b": "0.123", "c": "x", "d": "", "e": "1e400", "f": ""} {
		if got := o.num(key, 3); got != want {
			t.Errorf("num(%s) = %q, want %q", key, got, want)
		}
	}
}
