package guestmem

import (
	"strconv"

	"imgward/errors"
)

// Space is a guest's virtual memory: the kernel's address space, whose
// top-level page table is at physical address Root, and each process's,
// found from the kernel's. It implements guest.Memory (a package that
// needs not import this one's).
type Space struct {
	Phys   *Phys
	Root   uint64 // physical address of the kernel's top-level page table
	Levels int    // 4, or 5 with CR4.LA57

	tlb *tlb // nil: every read walks the page tables
}

// Cached returns a Space like s that remembers the translations it makes,
// for one scan of a paused guest, whose page tables do not change meanwhile
// (a live guest's may: a cached translation can then be stale, as a CPU's
// TLB can, and what it reads is as unreliable as the rest of a live scan).
// The cache is not safe for concurrent use: one Cached Space a scan.
func (s *Space) Cached() *Space {
	return &Space{Phys: s.Phys, Root: s.Root, Levels: s.Levels, tlb: new(tlb)}
}

// ReadKernel reads len(b) bytes at kernel virtual address va.
func (s *Space) ReadKernel(va uint64, b []byte) error {
	return s.Phys.readVirt(s.tlb, s.Root, s.Levels, va, b)
}

// ReadUser reads len(b) bytes at user virtual address va of the process
// whose mm->pgd is pgd, a kernel virtual address. An address in the
// kernel's half is refused (kind Invalid): that is ReadKernel's.
func (s *Space) ReadUser(pgd, va uint64, b []byte) error {
	const op = "guestmem.ReadUser"
	if pgd%pageSize != 0 {
		return errors.E(op, errors.Invalid, errors.Msg("page table root 0x"+strconv.FormatUint(pgd, 16)+" is not page-aligned"))
	}
	if end := va + uint64(len(b)); end < va || end > s.userEnd() {
		return errors.E(op, errors.Invalid, errors.Msg("0x"+strconv.FormatUint(va, 16)+" is not a user address"))
	}
	root, _, err := s.Phys.translateCached(s.tlb, s.Root, s.Levels, pgd)
	if err != nil {
		return errors.E(op, err)
	}
	return s.Phys.readVirt(s.tlb, root, s.Levels, va, b)
}

// Translate returns the physical address of kernel virtual address va.
func (s *Space) Translate(va uint64) (uint64, error) {
	return s.Phys.Translate(s.Root, s.Levels, va)
}

// userEnd is the end of the lower, user half of the address space.
func (s *Space) userEnd() uint64 {
	if s.Levels == levels5 {
		return 1 << 56
	}
	return 1 << 47
}
