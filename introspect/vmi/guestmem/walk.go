package guestmem

import (
	"strconv"

	"imgward/errors"
)

const (
	pageSize = 1 << 12
	hugeSize = 1 << 21 // a 2 MiB page, mapped by a page directory entry
	gigaSize = 1 << 30 // a 1 GiB page, mapped by a page directory pointer entry

	present  = 1 << 0
	pageBit  = 1 << 7             // PS: this entry maps a page, not a table
	addrMask = 0x000ffffffffff000 // bits 12-51 of an entry: the next table or the page
	levels4  = 4
	levels5  = 5
	tableLen = 512
)

// Translate returns the physical address that virtual address va maps to
// in the address space whose top-level page table is at physical address
// root (CR3 without its flag bits), with levels 4 or 5 (CR4.LA57). The
// walk reads at most levels entries, each checked to lie in the RAM. An
// unmapped or non-canonical address is an error of kind NotExist; a
// table outside the RAM, Invalid.
func (p *Phys) Translate(root uint64, levels int, va uint64) (uint64, error) {
	pa, _, err := p.translate(root, levels, va)
	return pa, err
}

// translate is Translate that also returns how many bytes from va on the
// same mapping covers.
func (p *Phys) translate(root uint64, levels int, va uint64) (pa, n uint64, err error) {
	const op = "guestmem.Translate"
	if levels != levels4 && levels != levels5 {
		return 0, 0, errors.E(op, errors.Invalid, errors.Msg("paging levels: want 4 or 5, not "+strconv.Itoa(levels)))
	}
	if !canonical(va, levels) {
		return 0, 0, errors.E(op, errors.NotExist, errors.Msg("0x"+strconv.FormatUint(va, 16)+" is not a canonical address"))
	}
	table := root & addrMask
	for level := levels; ; level-- {
		shift := uint(12 + 9*(level-1))
		e, err := p.Uint64(table + (va>>shift)%tableLen*8)
		if err != nil {
			return 0, 0, errors.E(op, errors.Invalid, errors.Msg("a page table of 0x"+strconv.FormatUint(va, 16)+" is outside the guest's RAM"))
		}
		if e&present == 0 {
			return 0, 0, errors.E(op, errors.NotExist, errors.Msg("0x"+strconv.FormatUint(va, 16)+" is not mapped"))
		}
		if level == 1 || (e&pageBit != 0 && (level == 2 || level == 3)) {
			size := uint64(1) << shift
			base := e & addrMask &^ (size - 1)
			off := va & (size - 1)
			return base + off, size - off, nil
		}
		// PS in a PML4 or PML5 entry is reserved: a table like any other.
		table = e & addrMask
	}
}

// translateCached is translate through t (nil: no cache).
func (p *Phys) translateCached(t *tlb, root uint64, levels int, va uint64) (pa, n uint64, err error) {
	if t != nil {
		if pa, n, ok := t.lookup(root, va); ok {
			return pa, n, nil
		}
	}
	pa, n, err = p.translate(root, levels, va)
	if err == nil && t != nil {
		t.add(root, va, pa, pageSizeOf(va, n))
	}
	return pa, n, err
}

// pageSizeOf is the size of the page in which va has n bytes left.
func pageSizeOf(va, n uint64) uint64 {
	for _, size := range []uint64{pageSize, hugeSize, gigaSize} {
		if va&(size-1)+n == size {
			return size
		}
	}
	return 0
}

// canonical reports whether va's top bits copy its highest translated bit.
func canonical(va uint64, levels int) bool {
	bits := uint(48)
	if levels == levels5 {
		bits = 57
	}
	top := int64(va) >> (bits - 1) // all 0s or all 1s when canonical
	return top == 0 || top == -1
}

// readVirt reads len(b) bytes at va through the tables at root, mapping by
// mapping, so that a read may cross pages that are not contiguous in
// physical memory.
func (p *Phys) readVirt(t *tlb, root uint64, levels int, va uint64, b []byte) error {
	if len(b) > 0 && va+uint64(len(b))-1 < va {
		return errors.E("guestmem.Read", errors.NotExist, errors.Msg("a read past the end of the address space"))
	}
	for len(b) > 0 {
		pa, n, err := p.translateCached(t, root, levels, va)
		if err != nil {
			return err
		}
		n = min(n, uint64(len(b)))
		if err := p.Read(pa, b[:n]); err != nil {
			return err
		}
		b, va = b[n:], va+n
	}
	return nil
}
