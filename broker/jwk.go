package broker

import (
	"bytes"
	"crypto/ecdh"
)

// parseFlatJWK reads the JWK that hosts send, without reflection or
// go-jose: an object of exactly the members "kty":"EC", "crv":"P-256", "x"
// and "y", in any order, once each, each a string without escapes, x and
// y the 43 base64url characters (unpadded) of a 32-byte coordinate, and a
// point on the curve (crypto/ecdh checks it). Anything else (whitespace
// aside) is not refused here: ok is false and parsePublicKey hands the key
// to go-jose, which accepts or refuses it as it did before this path was
// added, so that both paths agree on every key that this one accepts
// (FuzzParsePublicKey checks it against go-jose).
func parseFlatJWK(raw []byte) (pub *ecdh.PublicKey, ok bool) {
	s := flatScanner{b: raw}
	var kty, crv, x, y []byte
	if !s.byte('{') {
		return nil, false
	}
	for first := true; ; first = false {
		if s.byte('}') {
			break
		}
		if !first && !s.byte(',') {
			return nil, false
		}
		name, ok1 := s.str()
		value, ok2 := s.member()
		if !ok1 || !ok2 {
			return nil, false
		}
		var dst *[]byte
		switch string(name) {
		case "kty":
			dst = &kty
		case "crv":
			dst = &crv
		case "x":
			dst = &x
		case "y":
			dst = &y
		default:
			return nil, false
		}
		if *dst != nil {
			return nil, false // a member twice
		}
		*dst = value
	}
	if !s.end() || string(kty) != "EC" || string(crv) != "P-256" || len(x) != 43 || len(y) != 43 {
		return nil, false
	}
	var point [65]byte
	point[0] = 4 // uncompressed
	if n, err := b64.Decode(point[1:33], x); err != nil || n != 32 {
		return nil, false
	}
	if n, err := b64.Decode(point[33:], y); err != nil || n != 32 {
		return nil, false
	}
	pub, err := ecdh.P256().NewPublicKey(point[:])
	if err != nil {
		return nil, false
	}
	return pub, true
}

// flatScanner reads the tokens of a JSON object whose members are plain
// strings: no escapes, no control characters, no bytes beyond ASCII, so
// that the bytes between the quotes are the string. It reports whatever
// else it meets as not read (false), never as an error: its callers then
// decode the input with a complete JSON decoder.
type flatScanner struct {
	b []byte
	i int
}

func (s *flatScanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// byte reads c, after any whitespace.
func (s *flatScanner) byte(c byte) bool {
	s.space()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// str reads a plain string and returns the bytes between its quotes.
func (s *flatScanner) str() ([]byte, bool) {
	if !s.byte('"') {
		return nil, false
	}
	n := bytes.IndexByte(s.b[s.i:], '"')
	if n < 0 {
		return nil, false
	}
	v := s.b[s.i : s.i+n]
	for _, c := range v {
		if c < 0x20 || c >= 0x80 || c == '\\' {
			return nil, false
		}
	}
	s.i += n + 1
	return v, true
}

// member reads the colon and a plain string value of a member.
func (s *flatScanner) member() ([]byte, bool) {
	if !s.byte(':') {
		return nil, false
	}
	return s.str()
}

// end reports whether nothing but whitespace is left.
func (s *flatScanner) end() bool {
	s.space()
	return s.i == len(s.b)
}
