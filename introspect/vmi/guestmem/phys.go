// Package guestmem reads a QEMU guest's memory from the host: guest
// physical memory over a read-only mapping of the file that backs the
// guest's RAM (QEMU's -object memory-backend-file,...,share=on), and guest
// virtual memory through the guest's own x86-64 page tables, 4- or
// 5-level, with 2 MiB and 1 GiB pages. Space implements guest.Memory.
//
// Every address is checked against the RAM before it is read: a page
// table that points outside the RAM, a non-canonical address or a missing
// mapping is an error, never a fault or a panic, and a walk reads a fixed
// number of levels, so a hostile guest's tables cannot make it loop.
//
// The mapping is shared with the running guest: a live guest may change
// what is read while it is read. Callers that need a consistent view
// pause the guest (introspect/vmi does by default). The file must not be
// truncated while it is mapped (QEMU never does; a truncation would fault
// the reader).
package guestmem

import (
	"bytes"
	"encoding/binary"
	"os"
	"strconv"

	"imgward/errors"
)

// Machine names the guest's physical memory layout: where the RAM file's
// bytes appear in the guest's physical address space.
type Machine string

// The machine types of QEMU's x86 PCs. Both put the first part of the RAM
// at physical 0 and the rest above 4 GiB, leaving a hole for devices
// below 4 GiB; they differ in where the hole starts.
const (
	Q35 Machine = "q35" // -machine q35: RAM up to 2 GiB below the hole when it exceeds 2.75 GiB
	PC  Machine = "pc"  // -machine pc (i440fx): up to 3.5 GiB below the hole
)

// fourGiB is where QEMU's PCs put the RAM that does not fit below the hole.
const fourGiB = 1 << 32

// region is a run of guest physical memory backed by the file.
type region struct {
	gpa, size, off uint64
}

// layout returns the regions of a RAM of size bytes on machine m, as
// QEMU's pc_q35.c and pc_piix.c lay it out.
func layout(m Machine, size uint64) ([]region, error) {
	var limit, low uint64
	switch m {
	case Q35, "":
		limit, low = 0xb0000000, 0x80000000
	case PC:
		limit, low = 0xe0000000, 0xc0000000
	default:
		return nil, errors.E(errors.Invalid, errors.Msg("unknown machine type "+strconv.Quote(string(m))+": want q35 or pc"))
	}
	if size < limit {
		return []region{{0, size, 0}}, nil
	}
	return []region{{0, low, 0}, {fourGiB, size - low, low}}, nil
}

// Phys is a guest's physical memory, mapped read-only from its RAM file.
type Phys struct {
	data    []byte
	regions []region
	unmap   func() error
}

// OpenPhys maps the RAM file at path, laid out as machine m's. The file
// must be a whole number of pages.
func OpenPhys(path string, m Machine) (*Phys, error) {
	const op = "guestmem.OpenPhys"
	f, err := os.Open(path)
	if err != nil {
		kind := errors.Invalid
		if os.IsNotExist(err) {
			kind = errors.NotExist
		}
		return nil, errors.E(op, kind, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, errors.E(op, err)
	}
	size := uint64(fi.Size())
	if !fi.Mode().IsRegular() || size == 0 || size%pageSize != 0 {
		return nil, errors.E(op, errors.Invalid, errors.Msg(path+": not a guest RAM file (want a regular file of whole 4 KiB pages)"))
	}
	regions, err := layout(m, size)
	if err != nil {
		return nil, errors.E(op, err)
	}
	data, unmap, err := mapFile(f, size)
	if err != nil {
		return nil, errors.E(op, errors.Invalid, err)
	}
	return &Phys{data: data, regions: regions, unmap: unmap}, nil
}

// NewPhys is physical memory over b, from physical address 0 up: for
// memory images and tests.
func NewPhys(b []byte) *Phys {
	return &Phys{data: b, regions: []region{{0, uint64(len(b)), 0}}}
}

// Close unmaps the memory; the Phys and every Space over it must not be
// used after.
func (p *Phys) Close() error {
	if p.unmap == nil {
		return nil
	}
	err := p.unmap()
	p.unmap, p.data, p.regions = nil, nil, nil
	return err
}

// Size is the RAM's size in bytes.
func (p *Phys) Size() uint64 { return uint64(len(p.data)) }

// slice returns the n bytes at physical address pa, which must lie within
// one region; ok is false when they do not.
func (p *Phys) slice(pa, n uint64) ([]byte, bool) {
	for _, r := range p.regions {
		if pa >= r.gpa && pa-r.gpa < r.size && n <= r.size-(pa-r.gpa) {
			o := r.off + pa - r.gpa
			return p.data[o : o+n], true
		}
	}
	return nil, false
}

// Read reads len(b) bytes at physical address pa. Bytes outside the RAM
// are an error of kind NotExist.
func (p *Phys) Read(pa uint64, b []byte) error {
	for len(b) > 0 {
		// Region by region: the RAM above 4 GiB continues the file.
		n := uint64(len(b))
		if rest := pageSize - pa%pageSize; n > rest {
			n = rest
		}
		s, ok := p.slice(pa, n)
		if !ok {
			return errors.E("guestmem.Read", errors.NotExist, errors.Msg("physical address 0x"+strconv.FormatUint(pa, 16)+" is outside the guest's RAM"))
		}
		copy(b, s)
		b, pa = b[n:], pa+n
	}
	return nil
}

// Uint64 reads the little-endian word at physical address pa.
func (p *Phys) Uint64(pa uint64) (uint64, error) {
	s, ok := p.slice(pa, 8)
	if !ok {
		return 0, errors.E("guestmem.Uint64", errors.NotExist, errors.Msg("physical address 0x"+strconv.FormatUint(pa, 16)+" is outside the guest's RAM"))
	}
	return binary.LittleEndian.Uint64(s), nil
}

// Find returns the physical addresses of up to max copies of b in the RAM.
func (p *Phys) Find(b []byte, max int) []uint64 {
	var found []uint64
	for _, r := range p.regions {
		d := p.data[r.off : r.off+r.size]
		for from := 0; len(found) < max; {
			i := bytes.Index(d[from:], b)
			if i < 0 {
				break
			}
			found = append(found, r.gpa+uint64(from+i))
			from += i + 1
		}
	}
	return found
}
