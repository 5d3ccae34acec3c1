package guestmem

import (
	"bytes"
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
		// The cached Space reads what the plain one reads, twice over.
		plain := &Space{Phys: p, Root: root, Levels: levels}
		cached := plain.Cached()
		for range 2 {
			for _, read := range []func(s *Space, b []byte) error{
				func(s *Space, b []byte) error { return s.ReadKernel(va, b) },
				func(s *Space, b []byte) error { return s.ReadUser(va&^(pageSize-1), va>>16, b[:100]) },
			} {
				want, got := make([]byte, 3*pageSize), make([]byte, 3*pageSize)
				werr, gerr := read(plain, want), read(cached, got)
				if (werr == nil) != (gerr == nil) || (werr == nil && !bytes.Equal(want, got)) {
					t.Fatalf("cached read %v, plain %v", gerr, werr)
				}
			}
		}
	})
}
