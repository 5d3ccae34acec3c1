package snapshot

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"imgward/errors"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// line returns a valid snapshot line with edit applied to its JSON object.
func line(edit func(m map[string]any)) []byte {
	m := map[string]any{
		"version": 1, "instance_id": "i-00000000000000ab", "taken_at": now.Add(-time.Minute).Format(time.RFC3339Nano),
		"source": "procfs", "numeric": map[string]any{"cpu.user": 1.5, "rss_kb": 1024},
		"sets": map[string]any{"procs": []string{"nginx", "sshd"}},
	}
	if edit != nil {
		edit(m)
	}
	b, _ := json.Marshal(m)
	return b
}

func many(n int, f func(i int) (string, any)) map[string]any {
	m := map[string]any{}
	for i := range n {
		k, v := f(i)
		m[k] = v
	}
	return m
}

func TestParseLimits(t *testing.T) {
	set := func(k string, v any) func(map[string]any) { return func(m map[string]any) { m[k] = v } }
	items := func(n, size int) []string {
		s := make([]string, n)
		for i := range s {
			s[i] = strings.Repeat("x", size)
		}
		return s
	}
	seq := func(n int) map[string]any { return map[string]any{"sequence": make([]int, n)} }
	tests := []struct {
		name string
		edit func(map[string]any)
		want string // "" for valid, else a part of the message
	}{
		{"valid", nil, ""},
		{"version 2", set("version", 2), "version must be 1"},
		{"unknown field", set("extra", 1), "unknown field"},
		{"bad instance id", set("instance_id", "i-XYZ"), "instance_id"},
		{"bad time", set("taken_at", "yesterday"), "RFC 3339"},
		{"future", set("taken_at", now.Add(6*time.Minute).Format(time.RFC3339)), "future"},
		{"near future", set("taken_at", now.Add(4*time.Minute).Format(time.RFC3339)), ""},
		{"too old", set("taken_at", now.Add(-25*time.Hour).Format(time.RFC3339)), "24 hours"},
		{"bad source", set("source", "guest"), "source"},
		{"256 numeric", set("numeric", many(256, func(i int) (string, any) { return fmt.Sprintf("f%d", i), i })), ""},
		{"257 numeric", set("numeric", many(257, func(i int) (string, any) { return fmt.Sprintf("f%d", i), i })), "256 numeric"},
		{"name 64", set("numeric", map[string]any{strings.Repeat("a", 64): 1}), ""},
		{"name 65", set("numeric", map[string]any{strings.Repeat("a", 65): 1}), "not 1-64 bytes"},
		{"name upper", set("numeric", map[string]any{"CPU": 1}), "not 1-64 bytes"},
		{"name empty", set("numeric", map[string]any{"": 1}), "not 1-64 bytes"},
		{"numeric string", set("numeric", map[string]any{"a": "1"}), "malformed JSON"},
		{"numeric overflow", func(m map[string]any) { m["numeric"] = json.RawMessage(`{"a":1e999}`) }, "malformed JSON"},
		{"32 sets", set("sets", many(32, func(i int) (string, any) { return fmt.Sprintf("s%d", i), []string{} })), ""},
		{"33 sets", set("sets", many(33, func(i int) (string, any) { return fmt.Sprintf("s%d", i), []string{} })), "32 set"},
		{"number and set", set("sets", map[string]any{"rss_kb": []string{"1024"}}), "rss_kb is both a numeric feature and a set"},
		{"number and set, least named", func(m map[string]any) {
			m["numeric"] = map[string]any{"b": 1, "a": 2, "c": 3}
			m["sets"] = map[string]any{"c": []string{}, "b": []string{}, "d": []string{}}
		}, "b is both"},
		{"set name", set("sets", map[string]any{"a b": []string{}}), "set name"},
		{"1024 items", set("sets", map[string]any{"s": items(1024, 10)}), ""},
		{"1025 items", set("sets", map[string]any{"s": items(1025, 1)}), "1024 items"},
		{"item 256", set("sets", map[string]any{"s": items(1, 256)}), ""},
		{"item 257", set("sets", map[string]any{"s": items(1, 257)}), "over 256 bytes"},
		{"sequence 65536", set("syscalls", seq(65536)), "over 64 KiB"}, // the line limit comes first
		{"sequence 65537", set("syscalls", seq(65537)), "over 64 KiB"},
		{"sequence", set("syscalls", map[string]any{"sequence": []int{3, 4, 5}}), ""},
		{"sequence bad nr", set("syscalls", map[string]any{"sequence": []int{-1}}), "[0, 99999]"},
		{"histogram", set("syscalls", map[string]any{"histogram": map[string]int{"3": 10}}), ""},
		{"histogram key", set("syscalls", map[string]any{"histogram": map[string]int{"03": 10}}), "keys"},
		{"histogram count", set("syscalls", map[string]any{"histogram": map[string]int{"3": -1}}), "negative"},
		{"both", set("syscalls", map[string]any{"sequence": []int{1}, "histogram": map[string]int{"3": 1}}), "not both"},
		{"line 64 KiB", set("sets", map[string]any{"s": items(300, 256)}), "over 64 KiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(line(tt.edit), now)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Parse: %v", err)
			case tt.want != "" && err == nil:
				t.Fatalf("Parse: no error, want %q", tt.want)
			case tt.want != "" && !strings.Contains(errors.Message(err), tt.want):
				t.Fatalf("Parse: message %q, want %q", errors.Message(err), tt.want)
			case err != nil && !errors.Is(errors.Invalid, err):
				t.Fatalf("Parse: kind %v, want Invalid", errors.KindOf(err))
			}
		})
	}
}

// TestSequenceLimit checks the sequence limit below the line limit, which
// hides it for sequences of multi-digit numbers.
func TestSequenceLimit(t *testing.T) {
	if _, err := syscalls(&wireSyscalls{Sequence: make([]int, MaxSequence)}); err != nil {
		t.Errorf("65536 calls: %v", err)
	}
	if _, err := syscalls(&wireSyscalls{Sequence: make([]int, MaxSequence+1)}); err == nil {
		t.Error("65537 calls: no error")
	}
}

func TestRoundTrip(t *testing.T) {
	s := &Snapshot{InstanceID: "i-0123456789abcdef", TakenAt: now, Source: "sim",
		Numeric: map[string]float64{"cpu": 0.25}, Sets: map[string][]string{"ports": {"22", "80"}},
		Syscalls: &Syscalls{Histogram: map[int32]uint64{0: 3, 59: 1}}}
	b, err := Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(b, now)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(s, got, ignoreRow); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestParseBatch(t *testing.T) {
	good := string(line(nil))
	tests := []struct {
		name, body string
		n          int
		want       string
	}{
		{"two lines", good + "\n" + good + "\n", 2, ""},
		{"blank lines and CRLF", "\n" + good + "\r\n\n" + good, 2, ""},
		{"bad third line", good + "\n" + good + "\n{\n", 0, "line 3: malformed JSON"},
		{"empty", "\n\n", 0, "no snapshot"},
		{"long line", good + "\n" + strings.Repeat(" ", MaxLine+3) + "\n", 0, "line 2: line is over 64 KiB"},
		{"too many", strings.Repeat(good+"\n", MaxBatchLines+1), 0, "at most 10000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines, err := ParseBatch(strings.NewReader(tt.body), now)
			if tt.want == "" {
				if err != nil || len(lines) != tt.n {
					t.Fatalf("ParseBatch: %d lines, %v; want %d", len(lines), err, tt.n)
				}
				return
			}
			if err == nil || !strings.Contains(errors.Message(err), tt.want) || !errors.Is(errors.Invalid, err) {
				t.Fatalf("ParseBatch: %v (message %q), want Invalid %q", err, errors.Message(err), tt.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add(line(nil))
	f.Add([]byte(`{"version":1,"syscalls":{"histogram":{"1":2}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse(b, now)
		if err != nil {
			return
		}
		out, err := Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		back, err := Parse(out, now)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", out, err)
		}
		if diff := cmp.Diff(s, back, cmpopts.EquateEmpty(), ignoreRow); diff != "" {
			t.Fatalf("%s: re-parsed (-first +again):\n%s", out, diff)
		}
	})
}

// FuzzDecode checks the hand-written decoder against encoding/json: what
// one accepts the other accepts, with the same result, on valid UTF-8
// (where encoding/json substitutes U+FFFD, the decoder refuses), and
// except that keys must match exactly, not case-insensitively.
func FuzzDecode(f *testing.F) {
	f.Add(line(nil))
	f.Add([]byte(`{"numeric":{"a":null,"b":-0.5e3},"sets":{"s":["\u00e9\ud83d\ude00","\n"],"t":null},"syscalls":{"histogram":{"1":2},"sequence":[1,2]}}`))
	f.Add([]byte(`{"version":1.0}`))
	f.Add([]byte(`{"sets":{"s":["\ud800x"]}} `))
	f.Fuzz(func(t *testing.T, b []byte) {
		if !utf8.Valid(b) {
			return
		}
		var mine, std wire
		errMine := decodeWire(b, &mine)
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		errStd := dec.Decode(&std)
		if errStd == nil && dec.More() {
			errStd = errors.New("trailing data")
		}
		if errStd == nil {
			if _, err := dec.Token(); err != io.EOF {
				errStd = errors.New("trailing data")
			}
		}
		if errStd == nil && errMine != nil && strings.HasPrefix(errMine.Error(), "unknown field") {
			return // encoding/json matches keys case-insensitively; the decoder exactly
		}
		if (errMine == nil) != (errStd == nil) {
			t.Fatalf("%q: decoder error %v, encoding/json error %v", b, errMine, errStd)
		}
		if errMine == nil {
			if diff := cmp.Diff(std, mine, cmpopts.IgnoreUnexported(wire{})); diff != "" {
				t.Fatalf("%q: (-encoding/json +decoder):\n%s", b, diff)
			}
			checkRow(t, mine.Numeric, mine.names, mine.values)
		}
	})
}

// BenchmarkParse measures decoding and validating one line of 24 numbers
// and 3 sets, the size BenchmarkIngest posts.
func BenchmarkParse(b *testing.B) {
	num := map[string]any{}
	for f := range 24 {
		num[fmt.Sprintf("f%02d", f)] = float64(f) + 0.25
	}
	l := line(func(m map[string]any) {
		m["numeric"] = num
		m["sets"] = map[string]any{"procs": []string{"nginx", "sshd", "cron"}, "ports": []string{"22", "80", "443"}, "modules": []string{"ext4", "virtio_net"}}
	})
	b.SetBytes(int64(len(l)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(l, now); err != nil {
			b.Fatal(err)
		}
	}
}
