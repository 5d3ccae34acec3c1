package kernel

import (
	"encoding/binary"
	"testing"
)

// fakeSym is a symbol of a synthetic kallsyms.
type fakeSym struct {
	typ  byte
	name string
	addr uint64 // link address, or a per-CPU offset when percpu
	pcpu bool
}

const fakeBase = 0xffffffff81000000

// fakeRodata lays kallsyms out as scripts/kallsyms.c does (Debian's 6.1,
// with kallsyms_seqs_of_names), without compression: token i is the byte
// i (token 0, which no name uses, is "#"). syms must be sorted.
func fakeRodata(syms []fakeSym) []byte {
	align := func(b []byte) []byte {
		for len(b)%8 != 0 {
			b = append(b, 0)
		}
		return b
	}
	d := make([]byte, 64) // something before
	for _, s := range syms {
		var o int32
		if s.pcpu {
			o = int32(s.addr)
		} else {
			o = int32(-int64(s.addr-fakeBase) - 1)
		}
		d = binary.LittleEndian.AppendUint32(d, uint32(o))
	}
	d = align(d)
	d = binary.LittleEndian.AppendUint64(d, fakeBase)
	d = binary.LittleEndian.AppendUint32(d, uint32(len(syms)))
	d = align(d)
	namesAt := len(d)
	var marks []uint32
	for i, s := range syms {
		if i%256 == 0 {
			marks = append(marks, uint32(len(d)-namesAt))
		}
		name := append([]byte{s.typ}, s.name...)
		if len(name) > 127 {
			d = append(d, byte(len(name))|0x80, byte(len(name)>>7))
		} else {
			d = append(d, byte(len(name)))
		}
		d = append(d, name...)
	}
	d = align(d)
	for _, m := range marks {
		d = binary.LittleEndian.AppendUint32(d, m)
	}
	d = align(d)
	d = append(d, make([]byte, 3*len(syms))...) // kallsyms_seqs_of_names
	d = align(d)
	var index []uint16
	start := len(d)
	for i := range 256 {
		index = append(index, uint16(len(d)-start))
		if i == 0 {
			d = append(d, '#', 0)
		} else {
			d = append(d, byte(i), 0)
		}
	}
	d = align(d)
	for _, x := range index {
		d = binary.LittleEndian.AppendUint16(d, x)
	}
	return append(d, "after"...)
}

func fakeSyms(n int) []fakeSym {
	syms := []fakeSym{{'A', "runqueues", 0x2c000, true}}
	for i := range n {
		syms = append(syms, fakeSym{'T', "func_" + string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i/676%26)), fakeBase + uint64(i)*16, false})
	}
	syms = append(syms, fakeSym{'D', "init_task", fakeBase + uint64(n)*16 + 64, false})
	long := make([]byte, 200)
	for i := range long {
		long[i] = 'x'
	}
	return append(syms, fakeSym{'t', string(long), fakeBase + uint64(n)*16 + 128, false})
}

func TestKallsymsSynthetic(t *testing.T) {
	syms := fakeSyms(600) // three markers
	img := &image{sections: []section{{".rodata", 0xffffffff82000000, fakeRodata(syms)}}}
	got, err := img.kallsyms()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(syms) {
		t.Errorf("%d symbols, want %d", len(got), len(syms))
	}
	for _, s := range syms {
		g, ok := got[s.name]
		if !ok || g.addr != s.addr || g.absolute != s.pcpu || g.global != (s.typ < 'a') {
			t.Errorf("%s: %+v, want %+v", s.name[:min(len(s.name), 20)], g, s)
		}
	}
}

func TestKallsymsBroken(t *testing.T) {
	syms := fakeSyms(300)
	good := fakeRodata(syms)
	find := func(d []byte, b []byte) int {
		for i := range d {
			if string(d[i:min(len(d), i+len(b))]) == string(b) {
				return i
			}
		}
		return -1
	}
	for _, c := range []struct {
		name   string
		break_ func(d []byte)
	}{
		{"no digit tokens", func(d []byte) { d[find(d, digitTokens)] = 'x' }},
		{"token index wrong", func(d []byte) { d[len(d)-len("after")-2]++ }},
		{"a marker wrong", func(d []byte) {
			i := find(d, digitTokens) - 0x30*2 - 8*((3*len(syms)+7)/8) - 8
			d[i]++
		}},
		{"unsorted addresses", func(d []byte) { binary.LittleEndian.PutUint32(d[64+8:], 0x80000000) }},
		{"no count", func(d []byte) {
			i := find(d, binary.LittleEndian.AppendUint32(nil, uint32(len(syms))))
			d[i] = 0
		}},
	} {
		d := append([]byte(nil), good...)
		c.break_(d)
		img := &image{sections: []section{{".rodata", 0xffffffff82000000, d}}}
		if s, err := img.kallsyms(); err == nil {
			t.Errorf("%s: %d symbols, want an error", c.name, len(s))
		}
	}
	if _, err := (&image{}).kallsyms(); err == nil {
		t.Error("no .rodata: no error")
	}
}

// FuzzKallsyms decodes kallsyms from arbitrary .rodata: no input panics,
// and what decodes is sorted.
func FuzzKallsyms(f *testing.F) {
	f.Add(fakeRodata(fakeSyms(10)))
	f.Add(fakeRodata(fakeSyms(300)))
	f.Add(append(make([]byte, 64), digitTokens...))
	f.Fuzz(func(t *testing.T, d []byte) {
		if len(d) > 1<<20 {
			return
		}
		img := &image{sections: []section{{".rodata", 0xffffffff82000000, d}}}
		img.kallsyms()
	})
}
