package snapshot

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"imgward/errors"
)

// The JSON scanner under decoder: white space, objects, arrays, strings
// with their escapes, and numbers, by the grammar of RFC 8259.

func (d *decoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// next skips white space and reports whether the next byte is c,
// consuming it if so.
func (d *decoder) next(c byte) bool {
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

func (d *decoder) null() bool {
	d.ws()
	if len(d.b)-d.i >= 4 && string(d.b[d.i:d.i+4]) == "null" {
		d.i += 4
		return true
	}
	return false
}

// object reads {"key": value, ...}, calling member at each value.
func (d *decoder) object(member func(key []byte) error) error {
	if !d.next('{') {
		return errSyntax
	}
	if d.next('}') {
		return nil
	}
	for {
		d.ws()
		key, err := d.raw()
		if err != nil {
			return err
		}
		if !d.next(':') {
			return errSyntax
		}
		if err := member(key); err != nil {
			return err
		}
		if d.next('}') {
			return nil
		}
		if !d.next(',') {
			return errSyntax
		}
	}
}

func (d *decoder) array(elem func() error) error {
	if !d.next('[') {
		return errSyntax
	}
	if d.next(']') {
		return nil
	}
	for {
		if err := elem(); err != nil {
			return err
		}
		if d.next(']') {
			return nil
		}
		if !d.next(',') {
			return errSyntax
		}
	}
}

func (d *decoder) optString(s *string) error {
	if d.null() {
		return nil
	}
	v, err := d.string()
	*s = v
	return err
}

// string reads a JSON string.
func (d *decoder) string() (string, error) {
	b, err := d.raw()
	return string(b), err
}

// raw reads a JSON string and returns its bytes: a slice of the input when
// it has no escapes, else of a scratch buffer; either is valid only until
// the next call.
func (d *decoder) raw() ([]byte, error) {
	d.ws()
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return nil, errSyntax
	}
	d.i++
	start, plain := d.i, true
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			s := d.b[start:d.i]
			d.i++
			if plain {
				if !utf8.Valid(s) {
					return nil, errors.New("invalid UTF-8 in a string")
				}
				return s, nil
			}
			return d.unescape(s)
		case c == '\\':
			plain = false
			d.i += 2
		case c < 0x20:
			return nil, errSyntax
		default:
			d.i++
		}
	}
	return nil, errSyntax
}

// unescape decodes a string body with escapes.
func (d *decoder) unescape(s []byte) ([]byte, error) {
	out := d.buf[:0]
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(s) {
			return nil, errSyntax
		}
		switch e := s[i+1]; e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, n := hex4(s[i+2:])
			if n < 0 {
				return nil, errSyntax
			}
			i += 6
			if utf16.IsSurrogate(r) {
				if r2, n2 := hex4(s[min(i+2, len(s)):]); n2 > 0 && i+1 < len(s) && s[i] == '\\' && s[i+1] == 'u' {
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						out, i = utf8.AppendRune(out, dec), i+6
						continue
					}
				}
				r = utf8.RuneError
			}
			out = utf8.AppendRune(out, r)
			continue
		default:
			return nil, errSyntax
		}
		i += 2
	}
	d.buf = out
	if !utf8.Valid(out) {
		return nil, errors.New("invalid UTF-8 in a string")
	}
	return out, nil
}

func hex4(b []byte) (rune, int) {
	if len(b) < 4 {
		return 0, -1
	}
	v, err := strconv.ParseUint(string(b[:4]), 16, 16)
	if err != nil {
		return 0, -1
	}
	return rune(v), 4
}

// number returns the text of a JSON number and whether it is an integer.
func (d *decoder) number() ([]byte, bool, error) {
	d.ws()
	b, i := d.b, d.i
	start, integer := i, true
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return nil, false, errSyntax
	}
	if i < len(b) && b[i] == '.' {
		integer = false
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return nil, false, errSyntax
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		integer = false
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return nil, false, errSyntax
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	d.i = i
	return b[start:i], integer, nil
}

func (d *decoder) float() (float64, error) {
	t, _, err := d.number()
	if err != nil {
		return 0, err
	}
	f, err := strconv.ParseFloat(string(t), 64)
	if err != nil {
		return 0, errors.New("number " + string(t) + " is out of range")
	}
	return f, nil
}

// int reads an integer; ok is false for null.
func (d *decoder) int() (int64, bool, error) {
	if d.null() {
		return 0, false, nil
	}
	t, integer, err := d.number()
	if err != nil {
		return 0, false, err
	}
	if !integer {
		return 0, false, errors.New("number " + string(t) + " is not an integer")
	}
	v, err := strconv.ParseInt(string(t), 10, 64)
	if err != nil {
		return 0, false, errors.New("number " + string(t) + " is out of range")
	}
	return v, true, nil
}
