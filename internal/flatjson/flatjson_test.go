package flatjson

import (
	"strings"
	"testing"
)

func TestObject(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string // the object's bytes; "" when not read
	}{
		{`{}`, `{}`},
		{` { "a" : "b" , "c":"" } `, `{ "a" : "b" , "c":"" }`},
		{`{"a":"b"}tail`, `{"a":"b"}`}, // Object reads one value; End says what follows
		{`{"a":"\u0062"}`, ""},
		{`{"a":"é"}`, ""},
		{"{\"a\":\"\x01\"}", ""},
		{`{"a":1}`, ""},
		{`{"a":null}`, ""},
		{`{"a":"b",}`, ""},
		{`{,"a":"b"}`, ""},
		{`{"a" "b"}`, ""},
		{`{"a":"b"`, ""},
		{`{"a`, ""},
		{`["a"]`, ""},
		{``, ""},
	} {
		s := Scanner{B: []byte(c.in)}
		got, ok := s.Object()
		if ok != (c.want != "") || string(got) != c.want {
			t.Errorf("Object(%q) = %q, %v; want %q", c.in, got, ok, c.want)
		}
	}
}

func TestEnd(t *testing.T) {
	for in, want := range map[string]bool{`{} `: true, "{}\n\t\r ": true, `{}x`: false, `{}{}`: false} {
		s := Scanner{B: []byte(in)}
		if _, ok := s.Object(); !ok || s.End() != want {
			t.Errorf("%q: End() = %v, want %v", in, !want, want)
		}
	}
}

func TestMembers(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string // the members read, name=value; "!" when the input is not read
	}{
		{`{}`, ""},
		{` { "a" : "b" , "c":"" } `, "a=b c="},
		{`{"a":"b"}tail`, "!"}, // Members reads the whole input
		{`{"a":"b"}{}`, "!"},
		{`{"a":"b",}`, "!"},
		{`{"a":1}`, "!"},   // the member function refuses what it cannot read
		{`{"x":"b"}`, "!"}, // and what it does not know
		{`{"a":"b"`, "!"},
		{`["a"]`, "!"},
		{``, "!"},
	} {
		s := Scanner{B: []byte(c.in)}
		var got []string
		ok := s.Members(func(name []byte) bool {
			v, ok := s.Str()
			if !ok || string(name) == "x" {
				return false
			}
			got = append(got, string(name)+"="+string(v))
			return true
		})
		if g := strings.Join(got, " "); !ok && c.want != "!" || ok && g != c.want {
			t.Errorf("Members(%q) = %q, %v; want %q", c.in, g, ok, c.want)
		}
	}
}
