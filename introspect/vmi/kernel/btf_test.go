package kernel

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"os"
	"strings"
	"testing"

	"imgward/errors"

	"github.com/ulikunitz/xz"
)

// TestOffsetDebian reads layouts from the BTF of Debian's kernel, against
// offsets known for Linux 6.1 x86-64 (struct sock_common's layout is fixed
// by its first members; list_head and qstr never change).
func TestOffsetDebian(t *testing.T) {
	b, err := Load(debianKernel(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		typ, field string
		want       uint64 // 0: only its presence is checked
		kind       errors.Kind
	}{
		{"list_head", "next", 0, 0},
		{"list_head", "prev", 8, 0},
		{"sock", "__sk_common.skc_daddr", 0, 0},
		{"sock", "__sk_common.skc_rcv_saddr", 4, 0},
		{"sock", "__sk_common.skc_dport", 12, 0}, // in an anonymous union of an anonymous struct
		{"sock_common", "skc_num", 14, 0},
		{"qstr", "name", 8, 0},
		{"task_struct", "comm", 0, 0},
		{"task_struct", "tasks.next", 0, 0},
		{"task_struct", "no_such_member", 0, errors.NotExist},
		{"task_struct", "comm.x", 0, errors.Invalid},
		{"no_such_struct", "x", 0, errors.NotExist},
		{"sock", "sk_userlocks", 0, errors.Invalid}, // a bit-field
	} {
		got, err := b.Offset(c.typ, c.field)
		switch {
		case errors.KindOf(err) != c.kind:
			t.Errorf("Offset(%s, %s) = %d, %v; want kind %v", c.typ, c.field, got, err, c.kind)
		case err != nil && !strings.Contains(err.Error(), strings.Split(c.field, ".")[0]) && !strings.Contains(err.Error(), c.typ):
			t.Errorf("Offset(%s, %s): %v does not name what is missing", c.typ, c.field, err)
		case err == nil && c.want != 0 && got != c.want:
			t.Errorf("Offset(%s, %s) = %d, want %d", c.typ, c.field, got, c.want)
		}
	}
	tasks, _ := b.Offset("task_struct", "tasks")
	next, _ := b.Offset("task_struct", "tasks.next")
	if tasks != next || tasks == 0 {
		t.Errorf("task_struct.tasks at %d, .tasks.next at %d", tasks, next)
	}
	for _, c := range []struct {
		typ  string
		want uint64
	}{{"list_head", 16}, {"qstr", 16}, {"u64", 8}, {"task_struct", 0}} {
		got, err := b.Size(c.typ)
		if err != nil || (c.want != 0 && got != c.want) || got == 0 {
			t.Errorf("Size(%s) = %d, %v; want %d", c.typ, got, err, c.want)
		}
	}
	if _, err := b.Size("no_such_type"); errors.KindOf(err) != errors.NotExist {
		t.Errorf("Size(no_such_type): %v", err)
	}
}

func TestParseRefuses(t *testing.T) {
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "no ELF header"},
		{"text", []byte("hello, world"), "no ELF header"},
		{"truncated xz", append([]byte("MZ...."), xzMagic...), "corrupt"},
		{"not ELF", []byte("\x7fELF\x02\x01\x01"), "not a valid ELF"},
	} {
		_, err := Parse(c.data)
		if err == nil || errors.KindOf(err) != errors.Invalid || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want kind Invalid, %q", c.name, err, c.want)
		}
	}
}

// TestParseMissing renames a section of Debian's vmlinux: a kernel without
// BTF or kallsyms is refused with an error naming what is missing.
func TestParseMissing(t *testing.T) {
	data, err := os.ReadFile(debianKernel(t))
	if err != nil {
		t.Fatal(err)
	}
	vmlinux, err := decompress(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ section, rename, want string }{
		{".BTF\x00", ".XTF\x00", "no BTF"},
		{".rodata\x00", ".xodata\x00", "no kallsyms"},
	} {
		d := bytes.Clone(vmlinux)
		// The section names are at the end, in .shstrtab.
		i := bytes.LastIndex(d, []byte(c.section))
		copy(d[i:], c.rename)
		_, err := Parse(d)
		if errors.KindOf(err) != errors.Invalid || !strings.Contains(err.Error(), c.want) {
			t.Errorf("without %s: %v; want %q", c.section, err, c.want)
		}
	}
}

// FuzzParse reads arbitrary kernel images: none panics (the ELF, xz and
// BTF readers included) or is taken for a kernel without its tables.
func FuzzParse(f *testing.F) {
	f.Add([]byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3e\x00"))
	f.Add(append([]byte("MZ"), xzMagic...))
	f.Add(append(append([]byte("MZ"), xzMagic...), 0, 4, 0xe6, 0xd6, 0xb4, 0x46, 2, 0, 0x21, 1))
	f.Add(append([]byte("MZ"), xzPlainBlock(40)...)) // plain LZMA2 asking for a 4 GiB dictionary
	f.Add(append([]byte("MZ"), xzBlock(40)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		if b, err := Parse(data); err == nil && (b.Symbols() == 0 || b.spec == nil) {
			t.Fatalf("parsed a kernel without kallsyms or BTF")
		}
	})
}

// xzBlock is an xz stream header and a block header with the x86 and
// LZMA2 filters, the latter with dictionary property dict.
func xzBlock(dict byte) []byte {
	return xzHeaders([]byte{1, 0x04, 0x00, 0x21, 0x01, dict}) // flags: 2 filters; x86; LZMA2
}

// xzPlainBlock is xzBlock with the LZMA2 filter alone.
func xzPlainBlock(dict byte) []byte {
	return xzHeaders([]byte{0, 0x21, 0x01, dict}) // flags: 1 filter; LZMA2
}

// xzHeaders is an xz stream header and a block header of the given flags
// and filters, its size, padding and CRC32 set.
func xzHeaders(filters []byte) []byte {
	h := append([]byte{0}, filters...)
	for (len(h)+4)%4 != 0 {
		h = append(h, 0)
	}
	h[0] = byte((len(h)+4)/4 - 1)
	h = binary.LittleEndian.AppendUint32(h, crc32.ChecksumIEEE(h))
	return append(append(append([]byte(nil), xzMagic...), 0, 1, 0, 0, 0, 0), h...)
}

func TestUnxzLimits(t *testing.T) {
	for _, c := range []struct {
		dict byte
		kind errors.Kind
	}{
		{22, errors.Invalid},  // 8 MiB: accepted, then no data
		{40, errors.TooLarge}, // 4 GiB
		{31, errors.TooLarge}, // 96 MiB
		{41, errors.Invalid},  // no such size
	} {
		_, err := unxz(xzBlock(c.dict))
		if errors.KindOf(err) != c.kind {
			t.Errorf("dictionary property %d: %v, want kind %v", c.dict, err, c.kind)
		}
		// Plain LZMA2 (no x86 filter) is held to the same cap: it
		// went to xz.Reader, which allocates what the stream asks.
		_, err = unxz(xzPlainBlock(c.dict))
		if errors.KindOf(err) != c.kind {
			t.Errorf("plain LZMA2, dictionary property %d: %v, want kind %v", c.dict, err, c.kind)
		}
	}
}

// TestUnxzPlain decodes a stream of plain LZMA2, as xz writes it without
// a branch filter.
func TestUnxzPlain(t *testing.T) {
	want := bytes.Repeat([]byte("vmlinux, not filtered; "), 50000)
	var b bytes.Buffer
	w, err := xz.WriterConfig{DictCap: 1 << 20, CheckSum: xz.CRC32}.NewWriter(&b)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(want)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := unxz(b.Bytes())
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("unxz: %d bytes, %v; want %d bytes", len(got), err, len(want))
	}
}
