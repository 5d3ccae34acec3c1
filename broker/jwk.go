package broker

import (
	"bytes"
	"crypto/ecdh"

	"imgward"
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

// DecodeRequest reads the body of a key release in the shape that hosts
// send, without reflection: an object of the members "identity",
// "image_id" and "public_key", once each, the first two plain strings
// (see flatScanner) and public_key an object of plain strings, kept as
// its bytes. ok is false for anything else, which the caller decodes with
// encoding/json as before (unknown members refused), so that errors read
// as they did; for every body that it reads, encoding/json reads the same
// Request (FuzzDecodeRequest).
func DecodeRequest(body []byte) (req Request, ok bool) {
	s := flatScanner{b: body}
	var id, img, pub []byte
	if !s.byte('{') {
		return Request{}, false
	}
	for first := true; ; first = false {
		if s.byte('}') {
			break
		}
		if !first && !s.byte(',') {
			return Request{}, false
		}
		name, ok1 := s.str()
		if !ok1 || !s.byte(':') {
			return Request{}, false
		}
		var v []byte
		var ok2 bool
		var dst *[]byte
		switch string(name) {
		case "identity":
			v, ok2 = s.str()
			dst = &id
		case "image_id":
			v, ok2 = s.str()
			dst = &img
		case "public_key":
			v, ok2 = s.flatObject()
			dst = &pub
		}
		if dst == nil || !ok2 || *dst != nil {
			return Request{}, false // unknown, not plain, or twice
		}
		*dst = v
	}
	if !s.end() {
		return Request{}, false
	}
	return Request{Identity: string(id), ImageID: imgward.ImageID(img), PublicKey: pub}, true
}

// flatObject reads an object of plain string members and returns its
// bytes, braces included.
func (s *flatScanner) flatObject() ([]byte, bool) {
	if !s.byte('{') {
		return nil, false
	}
	start := s.i - 1
	for first := true; ; first = false {
		if s.byte('}') {
			return s.b[start:s.i], true
		}
		if !first && !s.byte(',') {
			return nil, false
		}
		if _, ok := s.str(); !ok {
			return nil, false
		}
		if _, ok := s.member(); !ok {
			return nil, false
		}
	}
}
