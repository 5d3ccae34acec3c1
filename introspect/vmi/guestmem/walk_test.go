package guestmem

import (
	"bytes"
	"encoding/binary"
	"testing"

	"imgward/errors"
)

// tables builds x86-64 page tables in a memory image, allocating tables
// from the top of the image down.
type tables struct {
	mem    []byte
	levels int
	root   uint64
	next   uint64 // the next free table, growing down
}

func newTables(size uint64, levels int) *tables {
	t := &tables{mem: make([]byte, size), levels: levels, next: size}
	t.root = t.alloc()
	return t
}

func (t *tables) alloc() uint64 {
	t.next -= pageSize
	return t.next
}

func (t *tables) entry(pa uint64) uint64 { return binary.LittleEndian.Uint64(t.mem[pa:]) }

func (t *tables) set(pa, v uint64) { binary.LittleEndian.PutUint64(t.mem[pa:], v) }

// mapPage maps the page of size bytes (4 KiB, 2 MiB or 1 GiB) at va to pa.
func (t *tables) mapPage(va, pa, size uint64) {
	table := t.root
	for level := t.levels; ; level-- {
		shift := uint(12 + 9*(level-1))
		e := table + (va>>shift)%tableLen*8
		if uint64(1)<<shift == size {
			flags := uint64(present | 2)
			if level > 1 {
				flags |= pageBit
			}
			t.set(e, pa|flags|1<<63)
			return
		}
		if t.entry(e)&present == 0 {
			t.set(e, t.alloc()|present|2)
		}
		table = t.entry(e) & addrMask
	}
}

func TestTranslate(t *testing.T) {
	const mb = 1 << 20
	for _, levels := range []int{4, 5} {
		tb := newTables(8*mb, levels)
		kernel := uint64(0xffffffff81000000)
		if levels == 5 {
			kernel = 0xff11000000000000 // a direct-map address, canonical only with 57 bits
		}
		tb.mapPage(kernel, 2*mb, hugeSize)
		tb.mapPage(kernel+hugeSize, 0x1000, pageSize)
		tb.mapPage(kernel+hugeSize+pageSize, 0x5000, pageSize)
		tb.mapPage(0x80001000, 0x9000, pageSize)
		tb.mapPage(0x40000000, 0, gigaSize) // beyond the image: found, then unreadable
		p := NewPhys(tb.mem)
		for _, c := range []struct {
			name string
			va   uint64
			pa   uint64
			kind errors.Kind // 0: translates
		}{
			{"2M page", kernel + 0x12345, 2*mb + 0x12345, 0},
			{"4K page", kernel + hugeSize + 0x10, 0x1010, 0},
			{"next 4K page", kernel + hugeSize + pageSize + 8, 0x5008, 0},
			{"user page", 0x80001123, 0x9123, 0},
			{"1G page", 0x40000000 + 0x1234, 0x1234, 0},
			{"unmapped", 0x80002000, 0, errors.NotExist},
			{"not canonical", 0x0000800000000000 | 1<<57, 0, errors.NotExist},
			{"last byte of the space", ^uint64(0), 0, errors.NotExist},
		} {
			pa, err := p.Translate(tb.root, levels, c.va)
			if errors.KindOf(err) != c.kind || (c.kind == 0 && pa != c.pa) {
				t.Errorf("%d levels, %s: Translate(%#x) = %#x, %v; want %#x, kind %v", levels, c.name, c.va, pa, err, c.pa, c.kind)
			}
		}
		// A read across two pages that are apart in physical memory.
		copy(tb.mem[0x1ffc:], "abcd")
		copy(tb.mem[0x5000:], "efgh")
		plain := &Space{Phys: p, Root: tb.root, Levels: levels}
		for _, s := range []*Space{plain, plain.Cached()} {
			for range 2 { // the second time from the cache, if any
				b := make([]byte, 8)
				if err := s.ReadKernel(kernel+hugeSize+pageSize-4, b); err != nil || string(b) != "abcdefgh" {
					t.Errorf("%d levels, cached %v: a read across pages: %q, %v", levels, s.tlb != nil, b, err)
				}
				if err := s.ReadKernel(kernel+0x12345, b[:4]); err != nil || !bytes.Equal(b[:4], tb.mem[2*mb+0x12345:][:4]) {
					t.Errorf("%d levels, cached %v: a read in a 2M page: %v", levels, s.tlb != nil, err)
				}
			}
		}
		s := plain.Cached()
		b := make([]byte, 8)
		// Past the end of the address space: refused, not wrapped to 0,
		// though both ends are mapped.
		tb.mapPage(^uint64(0)&^(pageSize-1), 0x7000, pageSize)
		tb.mapPage(0, 0x8000, pageSize)
		if err := s.ReadKernel(^uint64(0)-3, b); errors.KindOf(err) != errors.NotExist {
			t.Errorf("%d levels: a read that wraps: %v", levels, err)
		}
		// Into an unmapped page: an error, whatever was read before.
		if err := s.ReadKernel(kernel+hugeSize+2*pageSize-4, b); errors.KindOf(err) != errors.NotExist {
			t.Errorf("%d levels: a read into an unmapped page: %v", levels, err)
		}
	}
}

func TestTranslateBadTables(t *testing.T) {
	tb := newTables(1<<20, 4)
	// A PML4 entry pointing far outside the RAM.
	tb.set(tb.root, 0x000ff00000000000|present)
	p := NewPhys(tb.mem)
	if _, err := p.Translate(tb.root, 4, 0x1000); errors.KindOf(err) != errors.Invalid {
		t.Errorf("a table outside the RAM: %v, want kind Invalid", err)
	}
	if _, err := p.Translate(1<<40, 4, 0x1000); errors.KindOf(err) != errors.Invalid {
		t.Errorf("a root outside the RAM: %v, want kind Invalid", err)
	}
	if _, err := p.Translate(tb.root, 3, 0x1000); errors.KindOf(err) != errors.Invalid {
		t.Errorf("3 levels: %v, want kind Invalid", err)
	}
	// A table that points to itself ends after the fixed levels, at the
	// table itself (the self-map trick of some kernels).
	tb.set(tb.root, tb.root|present)
	if pa, err := p.Translate(tb.root, 4, 8); err != nil || pa != tb.root+8 {
		t.Errorf("a self-referencing table: %#x, %v; want %#x", pa, err, tb.root+8)
	}
}

func TestReadUser(t *testing.T) {
	tb := newTables(1<<20, 4)
	const pgdVA = 0xffff888000000000 // the direct map
	user := tb.alloc()
	tb.mapPage(pgdVA+user, user, pageSize)
	kernelRoot := tb.root
	tb.root = user
	tb.mapPage(0x400000, 0x3000, pageSize)
	copy(tb.mem[0x3000:], "cmdline\x00")
	s := &Space{Phys: NewPhys(tb.mem), Root: kernelRoot, Levels: 4}
	b := make([]byte, 8)
	for _, s := range []*Space{s, s.Cached(), s.Cached()} {
		if err := s.ReadUser(pgdVA+user, 0x400000, b); err != nil || !bytes.Equal(b, []byte("cmdline\x00")) {
			t.Fatalf("ReadUser: %q, %v", b, err)
		}
	}
	// The same user address in the kernel's own tables is not mapped:
	// the cache keeps address spaces apart.
	cached := s.Cached()
	cached.ReadUser(pgdVA+user, 0x400000, b)
	if err := cached.ReadKernel(0x400000, b); errors.KindOf(err) != errors.NotExist {
		t.Errorf("the user page through the kernel's root: %v", err)
	}
	for _, c := range []struct {
		name    string
		pgd, va uint64
		kind    errors.Kind
	}{
		{"kernel address", pgdVA + user, 0xffff888000000000, errors.Invalid},
		{"crossing into the kernel half", pgdVA + user, 1<<47 - 4, errors.Invalid},
		{"unaligned pgd", pgdVA + user + 8, 0x400000, errors.Invalid},
		{"pgd not mapped", pgdVA, 0x400000, errors.NotExist},
		{"user address not mapped", pgdVA + user, 0x500000, errors.NotExist},
	} {
		if err := s.ReadUser(c.pgd, c.va, b); errors.KindOf(err) != c.kind {
			t.Errorf("%s: %v, want kind %v", c.name, err, c.kind)
		}
	}
}

func TestLayout(t *testing.T) {
	const gib = 1 << 30
	for _, c := range []struct {
		m    Machine
		size uint64
		want []region
	}{
		{Q35, 256 << 20, []region{{0, 256 << 20, 0}}},
		{Q35, 2 * gib, []region{{0, 2 * gib, 0}}},
		{Q35, 4 * gib, []region{{0, 2 * gib, 0}, {4 * gib, 2 * gib, 2 * gib}}},
		{PC, 3 * gib, []region{{0, 3 * gib, 0}}},
		{PC, 4 * gib, []region{{0, 3 * gib, 0}, {4 * gib, gib, 3 * gib}}},
	} {
		got, err := layout(c.m, c.size)
		if err != nil || len(got) != len(c.want) {
			t.Errorf("layout(%s, %d) = %v, %v; want %v", c.m, c.size, got, err, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("layout(%s, %d) = %v, want %v", c.m, c.size, got, c.want)
			}
		}
	}
	if _, err := layout("virt", 1<<20); errors.KindOf(err) != errors.Invalid {
		t.Errorf("an unknown machine: %v", err)
	}
}

func TestPhysRegions(t *testing.T) {
	// The RAM above 4 GiB continues the file: a read across the end of the
	// low region is refused, one above 4 GiB reads the file's tail.
	data := make([]byte, 4*pageSize)
	copy(data[2*pageSize:], "high")
	p := &Phys{data: data, regions: []region{{0, 2 * pageSize, 0}, {fourGiB, 2 * pageSize, 2 * pageSize}}}
	b := make([]byte, 4)
	if err := p.Read(fourGiB, b); err != nil || string(b) != "high" {
		t.Errorf("Read above 4 GiB: %q, %v", b, err)
	}
	if err := p.Read(2*pageSize-2, b); errors.KindOf(err) != errors.NotExist {
		t.Errorf("Read across the hole: %v", err)
	}
	if _, err := p.Uint64(fourGiB + 2*pageSize - 4); errors.KindOf(err) != errors.NotExist {
		t.Errorf("Uint64 across the end: %v", err)
	}
}
