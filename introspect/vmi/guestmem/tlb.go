package guestmem

// tlb remembers translations, as a CPU's TLB does: a scan of a paused
// guest reads the same few pages again and again (task_structs in the
// direct map's 2 MiB and 1 GiB pages), and a walk of 4 or 5 levels for
// each read costs a third of the scan. One set of entries per page size,
// direct-mapped by the virtual page number.
type tlb [3][tlbSets]tlbEntry

const tlbSets = 256

// tlbEntry maps one page: vpage is the virtual address >> shift, base the
// physical address of the page. shift 0 marks an empty entry.
type tlbEntry struct {
	root, vpage, base uint64
	shift             uint8
}

// tlbShifts are the page sizes, by the set they go to.
var tlbShifts = [3]uint8{12, 21, 30}

// lookup returns va's translation under root, and the bytes left in its
// page, if remembered.
func (t *tlb) lookup(root, va uint64) (pa, n uint64, ok bool) {
	for i, shift := range tlbShifts {
		e := &t[i][(va>>shift)%tlbSets]
		if e.shift == shift && e.root == root && e.vpage == va>>shift {
			off := va & (1<<shift - 1)
			return e.base + off, 1<<shift - off, true
		}
	}
	return 0, 0, false
}

// add remembers the translation of va to pa in a page of size bytes.
func (t *tlb) add(root, va, pa, size uint64) {
	for i, shift := range tlbShifts {
		if 1<<shift == size {
			t[i][(va>>shift)%tlbSets] = tlbEntry{root: root, vpage: va >> shift, base: pa &^ (size - 1), shift: shift}
		}
	}
}
