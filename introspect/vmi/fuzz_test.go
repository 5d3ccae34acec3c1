package vmi

import (
	"math"
	"testing"
	"time"
)

// FuzzParseMessage checks that no line makes the parser panic or accept
// something outside its contract, and that a reply it accepts decodes
// into each reply type, or fails, without breaking the snapshot's limits.
// Seeds are lines captured from QEMU 7.2.
func FuzzParseMessage(f *testing.F) {
	for _, b := range captured(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseMessage(b)
		if err != nil {
			if m != nil {
				t.Errorf("an error and a message %+v", m)
			}
			return
		}
		shapes := 0
		for _, set := range []bool{m.QMP != nil, m.Event != "", m.Return != nil, m.Error != nil} {
			if set {
				shapes++
			}
		}
		if shapes != 1 || (m.Error != nil && m.Error.Class == "") {
			t.Fatalf("accepted %+v", m)
		}
		if g, err := parseGreeting(b); err == nil && (g == nil || g.Version == nil) {
			t.Errorf("accepted a greeting without a version")
		}
		if m.Error != nil && len(m.Error.Error()) > 2*maxDesc+200 {
			t.Errorf("an error message of %d bytes", len(m.Error.Error()))
		}
		if m.Return == nil {
			return
		}
		v := &view{}
		if decodeReturn(m.Return, &v.status) != nil {
			v.status = status{Status: "running"}
		}
		if decodeReturn(m.Return, &v.cpus) != nil {
			v.cpus = nil
		}
		if decodeReturn(m.Return, &v.blocks) != nil {
			v.blocks = nil
		}
		var bl balloon
		if decodeReturn(m.Return, &bl) == nil {
			v.balloon = &bl
		}
		s := v.snapshot(instance, time.Unix(1, 0), host{})
		if err := s.Validate(); err != nil {
			t.Errorf("snapshot of an accepted reply: %v", err)
		}
		for name, x := range s.Numeric {
			if x < 0 || math.IsInf(x, 0) || math.IsNaN(x) {
				t.Errorf("%s = %v", name, x)
			}
		}
	})
}
