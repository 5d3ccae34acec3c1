// Package flatjson reads the one shape of JSON that hot request paths
// receive: objects whose members are plain strings (no escapes, no
// control characters, nothing beyond ASCII), so that the bytes between
// the quotes are the string. It never refuses anything as malformed: a
// Scanner reports what it does not read as not read (false), and its
// callers then decode the input with encoding/json (or the decoder they
// used before), which accepts or refuses it with its usual errors. A
// caller's fast path thus reads a subset of what its reference decoder
// reads, and each caller has a fuzz target that checks the two agree.
package flatjson

import "bytes"

// Scanner reads tokens from B in order.
type Scanner struct {
	B []byte
	i int
}

func (s *Scanner) space() {
	for s.i < len(s.B) {
		switch s.B[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// Byte reads c, after any whitespace.
func (s *Scanner) Byte(c byte) bool {
	s.space()
	if s.i < len(s.B) && s.B[s.i] == c {
		s.i++
		return true
	}
	return false
}

// Str reads a plain string and returns the bytes between its quotes (a
// slice of B).
func (s *Scanner) Str() ([]byte, bool) {
	if !s.Byte('"') {
		return nil, false
	}
	n := bytes.IndexByte(s.B[s.i:], '"')
	if n < 0 {
		return nil, false
	}
	v := s.B[s.i : s.i+n]
	for _, c := range v {
		if c < 0x20 || c >= 0x80 || c == '\\' {
			return nil, false
		}
	}
	s.i += n + 1
	return v, true
}

// Member reads the separator before an object's next member (none before
// the first), its name and the colon, and returns the name; done is true,
// and ok too, at the object's closing brace.
func (s *Scanner) Member(first bool) (name []byte, done, ok bool) {
	if s.Byte('}') {
		return nil, true, true
	}
	if !first && !s.Byte(',') {
		return nil, false, false
	}
	name, ok = s.Str()
	if !ok || !s.Byte(':') {
		return nil, false, false
	}
	return name, false, true
}

// Members reads a whole input that is one object, calling member with each
// member's name and the scanner just after its colon; member reads the
// value and reports whether it could. Members reports whether the object
// was read to its closing brace with nothing but whitespace after it.
func (s *Scanner) Members(member func(name []byte) bool) bool {
	if !s.Byte('{') {
		return false
	}
	for first := true; ; first = false {
		name, done, ok := s.Member(first)
		if !ok {
			return false
		}
		if done {
			return s.End()
		}
		if !member(name) {
			return false
		}
	}
}

// Object reads an object of plain string members and returns its bytes,
// braces included (a slice of B).
func (s *Scanner) Object() ([]byte, bool) {
	if !s.Byte('{') {
		return nil, false
	}
	start := s.i - 1
	for first := true; ; first = false {
		_, done, ok := s.Member(first)
		if !ok {
			return nil, false
		}
		if done {
			return s.B[start:s.i], true
		}
		if _, ok := s.Str(); !ok {
			return nil, false
		}
	}
}

// End reports whether nothing but whitespace is left.
func (s *Scanner) End() bool {
	s.space()
	return s.i == len(s.B)
}
