package kernel

import (
	"encoding/binary"
	"strings"
	"testing"

	"imgward/errors"
	"imgward/introspect/vmi/guestmem"
)

// A synthetic kernel: linked at 0xffffffff81000000, loaded at physical
// 2 MiB, moved by KASLR 64 MiB up, mapped by a 2 MiB page through
// 4-level tables that init_top_pgt (at link + 0x2000, 8 KiB-aligned as
// with page-table isolation) holds.
const (
	synLink   = 0xffffffff81000000
	synPhys   = 0x200000
	synSlide  = 0x4000000
	synBanner = "Linux version 6.1.0-synthetic\n\x00"
)

func syntheticBuild() *Build {
	return &Build{Version: "synthetic", banner: []byte(synBanner), syms: map[string]symbol{
		"linux_banner": {addr: synLink + 0x100},
		"init_top_pgt": {addr: synLink + 0x2000},
		"runqueues":    {addr: 0x2c000, absolute: true},
	}}
}

// syntheticRAM lays the synthetic kernel out at phys in mem.
func syntheticRAM(mem []byte, phys uint64) {
	put := func(pa, v uint64) { binary.LittleEndian.PutUint64(mem[pa:], v) }
	copy(mem[phys+0x100:], synBanner)
	va := uint64(synLink + synSlide)
	root, pdpt, pd := phys+0x2000, phys+0x4000, phys+0x5000
	put(root+(va>>39)%512*8, pdpt|3)
	put(pdpt+(va>>30)%512*8, pd|3)
	put(pd+(va>>21)%512*8, phys|0x83) // present, writable, a 2 MiB page
}

func TestLocateSynthetic(t *testing.T) {
	mem := make([]byte, 8<<20)
	syntheticRAM(mem, synPhys)
	b := syntheticBuild()
	r, err := b.Locate(guestmem.NewPhys(mem))
	if err != nil {
		t.Fatal(err)
	}
	if r.Slide != synSlide || r.Space.Levels != 4 || r.Space.Root != synPhys+0x2000 {
		t.Errorf("located %v, want slide %#x, 4 levels, root %#x", r, synSlide, synPhys+0x2000)
	}
	if a, _ := r.Symbol("linux_banner"); a != synLink+0x100+synSlide {
		t.Errorf("linux_banner at %#x", a)
	}
	if a, _ := r.Symbol("runqueues"); a != 0x2c000 {
		t.Errorf("a per-CPU symbol was moved: %#x", a)
	}
	if _, err := r.Symbol("no_such"); errors.KindOf(err) != errors.NotExist || !strings.Contains(err.Error(), "no_such") {
		t.Errorf("a missing symbol: %v", err)
	}

	// A second, self-consistent copy (a rebooted guest's old kernel,
	// or a forged one): refused, unless a vCPU's CR3 says which runs.
	syntheticRAM(mem, 3*synPhys)
	if _, err := b.Locate(guestmem.NewPhys(mem)); errors.KindOf(err) != errors.Invalid {
		t.Errorf("two kernels: %v, want kind Invalid", err)
	}
	for _, phys := range []uint64{synPhys, 3 * synPhys} {
		for _, cr3 := range []uint64{phys + 0x2000, phys + 0x3000 | 5} { // the kernel's tables; PTI's user copy, with a PCID
			r, err := b.LocateCR3(guestmem.NewPhys(mem), cr3)
			if err != nil || r.Space.Root != phys+0x2000 || !r.Runs(cr3) {
				t.Errorf("CR3 %#x: %v, %v", cr3, r, err)
			}
		}
	}
	if _, err := b.LocateCR3(guestmem.NewPhys(mem), 5*synPhys); errors.KindOf(err) != errors.NotExist {
		t.Errorf("a CR3 that maps neither: %v, want kind NotExist", err)
	}
	// A banner without the tables is not the kernel.
	clear(mem)
	copy(mem[synPhys+0x100:], synBanner)
	if _, err := b.Locate(guestmem.NewPhys(mem)); errors.KindOf(err) != errors.NotExist {
		t.Errorf("a banner alone: %v, want kind NotExist", err)
	}
	// Nor is a copy whose tables have since changed.
	syntheticRAM(mem, synPhys)
	r, _ = b.Locate(guestmem.NewPhys(mem))
	mem[synPhys+0x100] = 'X'
	if r == nil || r.Confirm() {
		t.Error("Confirm holds after the banner changed")
	}
}

// FuzzLocate looks for the synthetic kernel in arbitrary memory: no image
// panics or hangs Locate.
func FuzzLocate(f *testing.F) {
	mem := make([]byte, 4<<20)
	syntheticRAM(mem, synPhys)
	f.Add(mem)
	f.Add(mem[:synPhys+0x3000])
	f.Fuzz(func(t *testing.T, mem []byte) {
		if len(mem) > 8<<20 {
			return
		}
		b := syntheticBuild()
		if r, err := b.Locate(guestmem.NewPhys(mem)); err == nil && !r.Confirm() {
			t.Fatal("located a kernel that does not confirm")
		}
	})
}
