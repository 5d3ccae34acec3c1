package kernel

import (
	"bytes"
	"encoding/binary"

	"imgward/errors"
)

// The kallsyms tables (scripts/kallsyms.c writes them into .rodata, each
// 8-byte aligned, in this order in Linux 6.1):
//
//	kallsyms_offsets        num_syms int32s
//	kallsyms_relative_base  uint64
//	kallsyms_num_syms       uint32
//	kallsyms_names          num_syms entries: a length (one byte, or two
//	                        when the first has bit 7 set: 7 bits each,
//	                        low first), then that many token indexes
//	kallsyms_markers        one uint32 per 256 names: the offset of name
//	                        256*i in kallsyms_names
//	kallsyms_seqs_of_names  (from 6.2, and in Debian's 6.1) 3 bytes a name
//	kallsyms_token_table    256 NUL-terminated tokens
//	kallsyms_token_index    256 uint16s: the offset of each token
//
// The vmlinux has no symbol table to say where they are: the token table
// is found by its tokens for the digits, which are the digits themselves
// at their own codes, and checked against the token index after it; the
// number of names is found before it, where decoding that many names
// ends just before markers that agree with them. The addresses must come
// out sorted, as kallsyms sorts them.
//
// A name's first expanded character is its type (T, D, b...). An offset
// is relative to relative_base (relative_base - 1 - offset, for the
// negative offsets of CONFIG_KALLSYMS_ABSOLUTE_PERCPU, where the others
// are absolute per-CPU offsets), or relative_base + offset without it.

// digitTokens are tokens '0' to '9', at codes 0x30 to 0x39.
var digitTokens = []byte("0\x001\x002\x003\x004\x005\x006\x007\x008\x009\x00")

// maxNames bounds the bytes searched before the token table for the start
// of kallsyms_names: 64 bytes a symbol at most.
const maxNames = maxSymbols * 64

func (img *image) kallsyms() (map[string]symbol, error) {
	ro := img.section(".rodata")
	if ro == nil {
		return nil, errors.E(errors.Invalid, errors.Msg("the kernel has no .rodata section, so no kallsyms"))
	}
	d := ro.data
	for from := 0; ; {
		i := bytes.Index(d[from:], digitTokens)
		if i < 0 {
			break
		}
		from += i + 1
		t, ok := tokenTable(d, from-1)
		if !ok {
			continue
		}
		if syms, ok := t.symbols(d); ok {
			return syms, nil
		}
	}
	return nil, errors.E(errors.Invalid, errors.Msg("the kernel has no kallsyms (build it with CONFIG_KALLSYMS=y), or a layout of them that this version does not read"))
}

// tokens is a found kallsyms_token_table.
type tokens struct {
	start int // offset of the table in .rodata
	tok   [256][]byte
}

// tokenTable checks for a token table whose token 0x30 is at d[at:].
func tokenTable(d []byte, at int) (*tokens, bool) {
	// Back over tokens 0x2f to 0: each ends with a NUL.
	start := at
	for range 0x30 {
		if start < 2 || d[start-1] != 0 {
			return nil, false
		}
		j := start - 2
		for j >= 0 && d[j] != 0 {
			j--
		}
		if j+1 == start-1 { // an empty token
			return nil, false
		}
		start = j + 1
	}
	if start%8 != 0 {
		return nil, false
	}
	t := &tokens{start: start}
	var offs [256]int
	p := start
	for i := range 256 {
		end := bytes.IndexByte(d[p:], 0)
		if end <= 0 {
			return nil, false
		}
		offs[i] = p - start
		t.tok[i] = d[p : p+end]
		p += end + 1
	}
	// kallsyms_token_index follows, aligned.
	p = (p + 7) &^ 7
	if p+512 > len(d) {
		return nil, false
	}
	for i := range 256 {
		if int(binary.LittleEndian.Uint16(d[p+2*i:])) != offs[i] {
			return nil, false
		}
	}
	return t, true
}

// symbols finds the tables before the token table and decodes them.
func (t *tokens) symbols(d []byte) (map[string]symbol, bool) {
	// kallsyms_num_syms is at an 8-aligned p, the names at p+8, the
	// markers after them; try each p going back.
	for p := t.start - 16; p >= 0 && t.start-p <= maxNames; p -= 8 {
		n := int(binary.LittleEndian.Uint32(d[p:]))
		if n == 0 || n > maxSymbols || binary.LittleEndian.Uint32(d[p+4:]) != 0 {
			continue
		}
		entries, ok := names(d[p+8:t.start], n)
		if !ok {
			continue
		}
		if syms, ok := t.decode(d, p, n, entries); ok {
			return syms, true
		}
	}
	return nil, false
}

// names splits the n entries of kallsyms_names at the start of b and
// checks them against kallsyms_markers, which follows them aligned (and
// must end within b).
func names(b []byte, n int) ([][]byte, bool) {
	entries := make([][]byte, 0, min(n, 1<<16))
	marks := make([]int, 0, (n+255)/256)
	p := 0
	for i := range n {
		if i%256 == 0 {
			marks = append(marks, p)
		}
		if p >= len(b) {
			return nil, false
		}
		l, hdr := int(b[p]), 1
		if l&0x80 != 0 {
			if p+1 >= len(b) {
				return nil, false
			}
			l, hdr = l&0x7f|int(b[p+1])<<7, 2
		}
		if l == 0 || p+hdr+l > len(b) {
			return nil, false
		}
		entries = append(entries, b[p+hdr:p+hdr+l])
		p += hdr + l
	}
	// The offsets are from the names' start, which is 8-aligned as the
	// markers are.
	m := (p + 7) &^ 7
	if m+4*len(marks) > len(b) {
		return nil, false
	}
	for i, want := range marks {
		if int(binary.LittleEndian.Uint32(b[m+4*i:])) != want {
			return nil, false
		}
	}
	return entries, true
}

// decode expands the names and reads their addresses: relative_base is at
// p-8, the offsets before it.
func (t *tokens) decode(d []byte, p, n int, entries [][]byte) (map[string]symbol, bool) {
	base := p - 8
	offStart := base - ((n*4 + 7) &^ 7)
	if offStart < 0 {
		return nil, false
	}
	relBase := binary.LittleEndian.Uint64(d[base:])
	if relBase < startKernelMap {
		return nil, false
	}
	offs := make([]int32, n)
	absolutePercpu := false
	for i := range offs {
		offs[i] = int32(binary.LittleEndian.Uint32(d[offStart+4*i:]))
		absolutePercpu = absolutePercpu || offs[i] < 0
	}
	syms := make(map[string]symbol, n)
	var name []byte
	var prev uint64
	for i, e := range entries {
		name = name[:0]
		for _, c := range e {
			name = append(name, t.tok[c]...)
		}
		if len(name) < 2 {
			return nil, false
		}
		var s symbol
		switch o := offs[i]; {
		case !absolutePercpu:
			s.addr = relBase + uint64(uint32(o))
		case o >= 0:
			s = symbol{addr: uint64(o), absolute: true}
		default:
			s.addr = relBase - 1 - uint64(int64(o))
		}
		if s.addr < prev {
			return nil, false
		}
		prev = s.addr
		typ, key := name[0], string(name[1:])
		// A name may repeat (static symbols of several files): the
		// global one wins, else the first.
		if old, ok := syms[key]; ok && !(isGlobal(typ) && !old.global) {
			continue
		}
		s.global = isGlobal(typ)
		syms[key] = s
	}
	return syms, true
}

func isGlobal(typ byte) bool { return typ >= 'A' && typ <= 'Z' }
