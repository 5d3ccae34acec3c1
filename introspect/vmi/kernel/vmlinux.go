package kernel

import (
	"bytes"
	"debug/elf"

	"imgward/errors"

	"github.com/cilium/ebpf/btf"
)

var (
	elfMagic = []byte("\x7fELF")
	xzMagic  = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
)

// decompress returns the vmlinux ELF in data: data itself, or the first xz
// stream of a bzImage (the payload that the kernel's own decompressor
// unpacks at boot).
func decompress(data []byte) ([]byte, error) {
	if bytes.HasPrefix(data, elfMagic) {
		return data, nil
	}
	i := bytes.Index(data, xzMagic)
	if i < 0 {
		return nil, errors.E(errors.Invalid, errors.Msg("not a vmlinux (no ELF header) nor an xz-compressed vmlinuz (no xz stream); other compressions are not supported"))
	}
	out, err := unxz(data[i:])
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(out, elfMagic) {
		return nil, errors.E(errors.Invalid, errors.Msg("the vmlinuz's xz stream holds no ELF kernel"))
	}
	return out, nil
}

// image is a vmlinux's allocated sections, by link-time address.
type image struct {
	sections []section
	btfData  []byte
}

type section struct {
	name string
	addr uint64
	data []byte
}

func readELF(data []byte) (*image, error) {
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return nil, errors.E(errors.Invalid, errors.Msg("the vmlinux is not a valid ELF file"), err)
	}
	if f.Class != elf.ELFCLASS64 || f.Machine != elf.EM_X86_64 {
		return nil, errors.E(errors.Invalid, errors.Msg("the kernel is not an x86-64 kernel; only x86-64 guests are supported"))
	}
	img := &image{}
	for _, s := range f.Sections {
		if s.Type != elf.SHT_PROGBITS || s.Flags&elf.SHF_ALLOC == 0 {
			continue
		}
		if s.Offset > uint64(len(data)) || s.Size > uint64(len(data))-s.Offset {
			return nil, errors.E(errors.Invalid, errors.Msg("the vmlinux's section "+s.Name+" lies beyond the file's end"))
		}
		b := data[s.Offset : s.Offset+s.Size]
		if s.Name == ".BTF" {
			img.btfData = b
		}
		img.sections = append(img.sections, section{s.Name, s.Addr, b})
	}
	return img, nil
}

// section returns the named section, or nil.
func (img *image) section(name string) *section {
	for i := range img.sections {
		if img.sections[i].name == name {
			return &img.sections[i]
		}
	}
	return nil
}

// at returns the n bytes at link-time address va, or nil when no section
// holds them all.
func (img *image) at(va, n uint64) []byte {
	for _, s := range img.sections {
		if va >= s.addr && va-s.addr < uint64(len(s.data)) && n <= uint64(len(s.data))-(va-s.addr) {
			return s.data[va-s.addr : va-s.addr+n]
		}
	}
	return nil
}

func (img *image) btf() (*btf.Spec, error) {
	if img.btfData == nil {
		return nil, errors.E(errors.Invalid, errors.Msg("the kernel has no BTF (.BTF section): build it with CONFIG_DEBUG_INFO_BTF=y"))
	}
	// A copy: the spec may keep what it reads, and the section is a
	// slice of the whole vmlinux, which is not kept.
	spec, err := btf.LoadSpecFromReader(bytes.NewReader(bytes.Clone(img.btfData)))
	if err != nil {
		return nil, errors.E(errors.Invalid, errors.Msg("the kernel's BTF is corrupt"), err)
	}
	return spec, nil
}

// banner returns the bytes of linux_banner, the string the kernel prints
// first ("Linux version ..."), with its NUL: Locate looks for them.
func (img *image) banner(syms map[string]symbol) ([]byte, error) {
	s, ok := syms["linux_banner"]
	if !ok {
		return nil, errors.E(errors.Invalid, errors.Msg("the kernel has no symbol linux_banner"))
	}
	b := img.at(s.addr, 512)
	if b == nil {
		return nil, errors.E(errors.Invalid, errors.Msg("linux_banner lies outside the kernel's sections"))
	}
	end := bytes.IndexByte(b, 0)
	if end < 0 || !bytes.HasPrefix(b, []byte("Linux version ")) {
		return nil, errors.E(errors.Invalid, errors.Msg("linux_banner does not hold a Linux version string"))
	}
	return bytes.Clone(b[:end+1]), nil
}
