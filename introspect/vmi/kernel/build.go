// Package kernel learns what guest-memory introspection needs to know of
// a guest's Linux kernel from the kernel's own image: its symbols from
// kallsyms (the compressed symbol table that every distribution kernel
// carries for /proc/kallsyms) and its type layouts from BTF (the .BTF
// section), so that neither System.map nor a debug package is needed; and
// where the kernel runs in a guest's memory, with or without KASLR.
//
// Load reads a vmlinuz (a bzImage whose payload is an xz-compressed
// vmlinux) or a vmlinux ELF, and keeps a Build: the symbols at their
// link-time addresses, the BTF, and the bytes of linux_banner. Builds are
// cached by file, so a collector that scans every few seconds parses the
// kernel once. Build.Locate finds that build in a guest's physical memory
// (guestmem.Phys): the physical and virtual load addresses, the kernel's
// page-table root and whether it uses 5-level paging; the Running it
// returns implements guest.Kernel (Symbol is relocated) and holds the
// guestmem.Space that implements guest.Memory.
//
// The image is untrusted input too (--kernel names a file): its size, the
// decompressed size and every table's bounds are checked, and a kernel
// without BTF or kallsyms is refused with an error naming what is missing.
package kernel

import (
	"os"
	"sync"
	"time"

	"imgward/errors"

	"github.com/cilium/ebpf/btf"
)

// Limits on a kernel image.
const (
	maxImage   = 256 << 20 // a vmlinuz or vmlinux file (Debian's vmlinux: 66 MiB)
	maxVmlinux = 256 << 20 // a decompressed vmlinux (Debian's: 63 MiB; no debug info in a vmlinuz)
	maxDict    = 64 << 20  // an xz dictionary (the kernel's scripts/xz_wrap.sh uses 32 MiB)
	maxSymbols = 1 << 21   // kallsyms entries (Debian 6.1: ~88,000; allyesconfig: ~400,000)
)

// startKernelMap is __START_KERNEL_map: the kernel image's virtual
// addresses start there, mapping physical 0 when nothing is relocated.
const startKernelMap = 0xffffffff80000000

// Build is what introspection knows of one kernel build.
type Build struct {
	Path    string // the file it was loaded from
	Version string // linux_banner, without its newline

	syms   map[string]symbol
	banner []byte // linux_banner's bytes, its NUL included

	mu   sync.Mutex // btf.Spec inflates types lazily
	spec *btf.Spec
}

// symbol is a kallsyms entry: a link-time address, or an absolute value
// (per-CPU offsets) that KASLR does not move.
type symbol struct {
	addr     uint64
	absolute bool
	global   bool // an exported or global symbol (an upper-case type letter)
}

// cache holds the Builds loaded, by file: a collector scans every few
// seconds and a kernel takes about a second to decompress and parse.
var cache struct {
	sync.Mutex
	m map[string]cached
}

type cached struct {
	size  int64
	mtime time.Time
	b     *Build
}

// Load returns the Build of the kernel image at path, a vmlinuz or a
// vmlinux, from the cache when the file has not changed since it was
// parsed. A file that is not a kernel, or a kernel without kallsyms or
// BTF, is an error of kind Invalid naming what is missing.
func Load(path string) (*Build, error) {
	const op = "kernel.Load"
	fi, err := os.Stat(path)
	if err != nil {
		kind := errors.Invalid
		if os.IsNotExist(err) {
			kind = errors.NotExist
		}
		return nil, errors.E(op, kind, err)
	}
	cache.Lock()
	defer cache.Unlock()
	if c, ok := cache.m[path]; ok && c.size == fi.Size() && c.mtime.Equal(fi.ModTime()) {
		return c.b, nil
	}
	b, err := parseFile(path)
	if err != nil {
		return nil, errors.E(op, err)
	}
	if cache.m == nil {
		cache.m = make(map[string]cached)
	}
	cache.m[path] = cached{fi.Size(), fi.ModTime(), b}
	return b, nil
}

func parseFile(path string) (*Build, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, errors.E(errors.Invalid, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() || fi.Size() > maxImage {
		return nil, errors.E(errors.Invalid, errors.Msg(path+": not a kernel image (want a regular file of at most 256 MiB)"))
	}
	data := make([]byte, fi.Size())
	if _, err := f.ReadAt(data, 0); err != nil {
		return nil, errors.E(errors.Invalid, err)
	}
	b, err := Parse(data)
	if err != nil {
		return nil, errors.E(errors.Msg(path+": "+errors.Message(err)), err)
	}
	b.Path = path
	return b, nil
}

// Parse reads a kernel image, a vmlinuz or a vmlinux, from its bytes.
func Parse(data []byte) (b *Build, err error) {
	const op = "kernel.Parse"
	// The image comes with a guest, from its publisher: the ELF, xz and
	// BTF readers of other packages must not take the collector down
	// with them should a crafted image find a panic in one.
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, errors.E(op, errors.Invalid, errors.Msg("the kernel image is malformed"), errors.Errorf("panic: %v", r))
		}
	}()
	vmlinux, err := decompress(data)
	if err != nil {
		return nil, errors.E(op, err)
	}
	img, err := readELF(vmlinux)
	if err != nil {
		return nil, errors.E(op, err)
	}
	b = &Build{}
	if b.spec, err = img.btf(); err != nil {
		return nil, errors.E(op, err)
	}
	if b.syms, err = img.kallsyms(); err != nil {
		return nil, errors.E(op, err)
	}
	if b.banner, err = img.banner(b.syms); err != nil {
		return nil, errors.E(op, err)
	}
	b.Version = string(b.banner[:len(b.banner)-1])
	for len(b.Version) > 0 && (b.Version[len(b.Version)-1] == '\n') {
		b.Version = b.Version[:len(b.Version)-1]
	}
	return b, nil
}

// Symbols is the number of kallsyms entries.
func (b *Build) Symbols() int { return len(b.syms) }

// LinkAddress is a symbol's address in the image, before any relocation.
// A symbol the build lacks is an error of kind NotExist.
func (b *Build) LinkAddress(name string) (uint64, error) {
	s, ok := b.syms[name]
	if !ok {
		return 0, errors.E("kernel.Symbol", errors.NotExist, errors.Msg("the kernel has no symbol "+name))
	}
	return s.addr, nil
}
