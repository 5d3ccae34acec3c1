package kernel

import (
	"regexp"
	"strconv"
	"testing"

	"imgward/introspect/vmi/guestmem"
	"imgward/introspect/vmi/vmitest"
)

// TestLocateGuests boots two guests at once, one without KASLR (the PVH
// entry of the vmlinux, which keeps 4-level paging), one with KASLR on a
// CPU with 5-level paging (the vmlinuz's decompressor turns it on),
// locates the kernel in each and checks the page walk against QEMU's own
// (gva2gpa) and the paging mode against the guest's CR4.
func TestLocateGuests(t *testing.T) {
	vmitest.CanBoot(t)
	cases := []struct {
		name  string
		opts  []string
		kaslr bool
		la57  bool
	}{
		{"nokaslr", nil, false, false},
		{"kaslr", []string{"--kaslr"}, true, true},
	}
	var specs []vmitest.Spec
	for _, c := range cases {
		specs = append(specs, vmitest.Spec{Name: "locate-" + c.name, Opts: c.opts})
	}
	guests := vmitest.StartGuests(t, specs...)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkLocate(t, guests[i], c.kaslr, c.la57) })
	}
}

var (
	cr3RE = regexp.MustCompile(`CR3=([0-9a-f]+)`)
	cr4RE = regexp.MustCompile(`CR4=([0-9a-f]+)`)
)

func checkLocate(t *testing.T, g *vmitest.Guest, kaslr, la57 bool) {
	b, err := Load(g.Kernel)
	if err != nil {
		t.Fatal(err)
	}
	p, err := guestmem.OpenPhys(g.Mem, guestmem.Q35)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	regs, err := vmitest.HMP(g.QMP, "info registers")
	if err != nil {
		t.Fatal(err)
	}
	m := cr4RE.FindStringSubmatch(regs)
	m3 := cr3RE.FindStringSubmatch(regs)
	if m == nil || m3 == nil {
		t.Fatalf("no CR3 or CR4 in %q", regs)
	}
	cr3, _ := strconv.ParseUint(m3[1], 16, 64)
	// Anchored on the CPU: a guest that panicked at boot and rebooted
	// (see scripts/testguest.sh) may have left an old kernel in RAM.
	r, err := b.LocateCR3(p, cr3)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(r)
	if r.Slide != 0 && !kaslr {
		t.Errorf("slide %#x without KASLR", r.Slide)
	}
	if only, err := b.Locate(p); err == nil && (only.Slide != r.Slide || only.Space.Root != r.Space.Root) {
		t.Errorf("from memory alone: %v; with CR3: %v", only, r)
	}
	cr4, _ := strconv.ParseUint(m[1], 16, 64)
	if got := cr4&(1<<12) != 0; got != la57 || (r.Space.Levels == 5) != got {
		t.Errorf("CR4.LA57 %v (want %v), walk with %d levels", got, la57, r.Space.Levels)
	}
	// Kernel addresses: the image, and the direct map (init_task's list
	// pointer leads to another task).
	initTask, _ := r.Symbol("init_task")
	tasks, err := b.Offset("task_struct", "tasks")
	if err != nil {
		t.Fatal(err)
	}
	var next [8]byte
	if err := r.Space.ReadKernel(initTask+tasks, next[:]); err != nil {
		t.Fatal(err)
	}
	direct := uint64(next[0]) | uint64(next[1])<<8 | uint64(next[2])<<16 | uint64(next[3])<<24 |
		uint64(next[4])<<32 | uint64(next[5])<<40 | uint64(next[6])<<48 | uint64(next[7])<<56
	banner, _ := r.Symbol("linux_banner")
	for _, va := range []uint64{banner, initTask, direct, direct + 0x1234} {
		got, err := r.Space.Translate(va)
		if err != nil {
			t.Errorf("Translate(%#x): %v", va, err)
			continue
		}
		out, err := vmitest.HMP(g.QMP, "gva2gpa 0x"+strconv.FormatUint(va, 16))
		if err != nil {
			t.Fatal(err)
		}
		if want := "gpa: 0x" + strconv.FormatUint(got, 16); !regexp.MustCompile(`^` + want + `\s*$`).MatchString(out) {
			t.Errorf("%#x: walk %#x, QEMU %q", va, got, out)
		}
	}
}
