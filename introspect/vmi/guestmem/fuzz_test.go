package guestmem

import (
	"encoding/binary"
	"testing"
)

// FuzzTranslate walks page tables of arbitrary memory images: no input
// panics or hangs the walk, and what translates is inside the RAM.
func FuzzTranslate(f *testing.F) {
	tb := newTables(64<<10, 4)
	tb.mapPage(0xffffffff81000000, 0x2000, pageSize)
	tb.mapPage(0x1000, 0, hugeSize)
	seed := func(root, va uint64, levels byte, mem []byte) []byte {
		b := binary.LittleEndian.AppendUint64(nil, root)
		b = binary.LittleEndian.AppendUint64(b, va)
		return append(append(b, levels), mem...)
	}
	f.Add(seed(tb.root, 0xffffffff81000010, 4, tb.mem))
	f.Add(seed(tb.root, 0x1234, 5, tb.mem))
	f.Add(seed(0, 0, 4, make([]byte, pageSize)))
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) < 17 || len(in) > 1<<20 {
			return
		}
		root := binary.LittleEndian.Uint64(in)
		va := binary.LittleEndian.Uint64(in[8:])
		levels := 4 + int(in[16]&1)
		mem := in[17:]
		p := NewPhys(mem)
		pa, err := p.Translate(root, levels, va)
		if err == nil && pa >= 1<<52 {
			t.Fatalf("translated to %#x, beyond 52 bits", pa)
		}
		s := &Space{Phys: p, Root: root, Levels: levels}
		b := make([]byte, 3*pageSize)
		_ = s.ReadKernel(va, b)
		_ = s.ReadUser(va&^(pageSize-1), va>>16, b[:100])
	})
}
