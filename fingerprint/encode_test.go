package fingerprint

import (
	"bytes"
	"testing"

	"imgward/errors"
)

func TestEncodeRoundTrip(t *testing.T) {
	f, err := FromReader(t.Context(), bytes.NewReader(random("encode", 300<<10)), Default)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := f.MarshalBinary()
	g, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if g.Len() != f.Len() || g.Bytes() != f.Bytes() || Similarity(f, g) != 1 {
		t.Errorf("round trip: %d chunks %d bytes, want %d and %d", g.Len(), g.Bytes(), f.Len(), f.Bytes())
	}
	if _, err := Parse(b[:len(b)-1]); !errors.Is(errors.Invalid, err) {
		t.Errorf("Parse of a cut record: %v, want Invalid", err)
	}
	if e, err := Parse(nil); err != nil || e.Len() != 0 {
		t.Errorf("Parse(nil) = %v, %v", e, err)
	}
}
