package kernel

import (
	"bytes"
	"strconv"

	"imgward/errors"
	"imgward/introspect/vmi/guestmem"
)

// Running is a Build located in a running guest's memory. It implements
// guest.Kernel, and Space guest.Memory.
type Running struct {
	*Build
	Space *guestmem.Space
	// Slide is the KASLR displacement of the kernel's virtual addresses
	// (0 without KASLR); PhysDelta is where the image's physical
	// addresses lie from those of an unrelocated image (link address -
	// __START_KERNEL_map).
	Slide, PhysDelta uint64
}

// Kernel image placement, as x86-64 Linux does it (arch/x86/Kconfig,
// arch/x86/boot/compressed/kaslr.c): the image is aligned to 2 MiB
// (CONFIG_PHYSICAL_ALIGN is a multiple of it) physically and virtually,
// and KASLR moves it virtually within the first 1 GiB above
// __START_KERNEL_map, never below where it is linked.
const (
	kernelAlign = 2 << 20
	imageRange  = 1 << 30
)

// Locate finds the kernel in a guest's physical memory: it looks for the
// bytes of linux_banner in RAM, and confirms each copy by the kernel's own
// page tables (init_top_pgt, found at the same distance from the banner as
// in the image), which must map the banner's relocated virtual address to
// that copy, with 4 or 5 levels. A guest that runs another kernel (or that
// has not booted yet) is an error of kind NotExist. Two copies that both
// confirm are refused (kind Invalid) rather than guessed between; they are
// found after a reboot (the RAM keeps the old kernel, which KASLR put
// elsewhere) and in a guest that forged one: LocateCR3 tells them apart.
func (b *Build) Locate(p *guestmem.Phys) (*Running, error) {
	return b.LocateCR3(p, 0)
}

// LocateCR3 is Locate with the CR3 register of one of the guest's vCPUs
// (from QEMU; 0: unknown): only the copy that the CPU's own page tables map
// is the running kernel.
func (b *Build) LocateCR3(p *guestmem.Phys, cr3 uint64) (*Running, error) {
	const op = "kernel.Locate"
	banner := b.syms["linux_banner"].addr
	top, ok := b.syms["init_top_pgt"]
	if !ok {
		return nil, errors.E(op, errors.Invalid, errors.Msg("the kernel has no symbol init_top_pgt: not an x86-64 kernel this version reads"))
	}
	var found []*Running
	for _, pa := range b.bannerCopies(p, banner%kernelAlign) {
		delta := pa - (banner - startKernelMap)
		root := top.addr - startKernelMap + delta
		if r := b.confirmAt(p, root, pa, delta); r != nil && (cr3 == 0 || r.Runs(cr3)) {
			found = append(found, r)
		}
	}
	switch len(found) {
	case 0:
		return nil, errors.E(op, errors.NotExist, errors.Msg("the guest's memory holds no running copy of the kernel "+b.Version+" (another kernel, or booting)"))
	case 1:
		return found[0], nil
	}
	return nil, errors.E(op, errors.Invalid, errors.Msg(strconv.Itoa(len(found))+" copies of the kernel in the guest's memory each map themselves: refusing to guess which one runs"))
}

// confirmAt tries the banner copy at pa with the page tables at root: the
// first slide and paging depth under which they map the banner there.
func (b *Build) confirmAt(p *guestmem.Phys, root, pa, delta uint64) *Running {
	banner := b.syms["linux_banner"].addr
	for _, levels := range []int{5, 4} {
		s := &guestmem.Space{Phys: p, Root: root, Levels: levels}
		for slide := uint64(0); banner-startKernelMap+slide < imageRange; slide += kernelAlign {
			if got, err := s.Translate(banner + slide); err != nil || got != pa {
				continue
			}
			if r := (&Running{Build: b, Space: s, Slide: slide, PhysDelta: delta}); r.Confirm() {
				return r
			}
		}
	}
	return nil
}

// bannerCopies returns the physical addresses of linux_banner's bytes in
// RAM: first where a 2 MiB-aligned image would put them (at offset off of
// a 2 MiB page), then anywhere.
func (b *Build) bannerCopies(p *guestmem.Phys, off uint64) []uint64 {
	var found []uint64
	buf := make([]byte, len(b.banner))
	for pa := off; pa+uint64(len(buf)) <= p.Size(); pa += kernelAlign {
		if p.Read(pa, buf) == nil && bytes.Equal(buf, b.banner) {
			found = append(found, pa)
		}
	}
	if len(found) > 0 {
		return found
	}
	return p.Find(b.banner, 16)
}

// Confirm reports whether the kernel is still where Locate found it: the
// banner reads back through the page tables, and init_top_pgt's virtual
// address maps to the root. A rebooted guest has moved it (with KASLR)
// or is another kernel.
func (r *Running) Confirm() bool {
	buf := make([]byte, len(r.banner))
	if r.Space.ReadKernel(r.Build.syms["linux_banner"].addr+r.Slide, buf) != nil || !bytes.Equal(buf, r.banner) {
		return false
	}
	pa, err := r.Space.Translate(r.Build.syms["init_top_pgt"].addr + r.Slide)
	return err == nil && pa == r.Space.Root
}

// Runs reports whether the page tables at cr3, the CR3 register of one of
// the guest's vCPUs, map the kernel where r found it: the kernel half of
// every address space is the kernel's, whichever process the CPU runs. With
// page-table isolation a CPU in user mode has the user copy of its page
// tables (bit 12 set), which hardly maps the kernel: the kernel copy is
// tried too.
func (r *Running) Runs(cr3 uint64) bool {
	banner := r.Build.syms["linux_banner"].addr + r.Slide
	want, err := r.Space.Translate(banner)
	if err != nil {
		return false
	}
	for _, root := range []uint64{cr3 &^ 0xfff, cr3 &^ 0x1fff} {
		s := guestmem.Space{Phys: r.Space.Phys, Root: root, Levels: r.Space.Levels}
		if pa, err := s.Translate(banner); err == nil && pa == want {
			return true
		}
	}
	return false
}

// Symbol is a symbol's run-time address: its link address moved by the
// KASLR slide, except absolute symbols (per-CPU offsets), which KASLR does
// not move. A symbol the kernel lacks is an error of kind NotExist.
func (r *Running) Symbol(name string) (uint64, error) {
	s, ok := r.syms[name]
	if !ok {
		return 0, errors.E("kernel.Symbol", errors.NotExist, errors.Msg("the kernel has no symbol "+name))
	}
	if s.absolute {
		return s.addr, nil
	}
	return s.addr + r.Slide, nil
}

// String describes the placement, for logs and errors.
func (r *Running) String() string {
	return r.Version + ": slide 0x" + strconv.FormatUint(r.Slide, 16) + ", " + strconv.Itoa(r.Space.Levels) + "-level paging, page tables at 0x" + strconv.FormatUint(r.Space.Root, 16)
}
