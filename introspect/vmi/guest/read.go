package guest

import (
	"bytes"
	"encoding/binary"
)

// reader reads kernel objects for one scan. Every read of guest memory
// goes through it; a failed read is counted (State.Skipped) by whoever
// decides to skip the object.
type reader struct {
	mem Memory
	buf [16]byte
}

// isKernelPtr reports whether v can be a pointer to a kernel object: in
// the upper half of a 4- or 5-level address space and 8-byte aligned.
// It is a cheap filter before the read that has the last word.
func isKernelPtr(v uint64) bool {
	return v >= 0xff00000000000000 && v&7 == 0
}

// u64 reads a little-endian 64-bit word at kernel address va.
func (r *reader) u64(va uint64) (uint64, bool) {
	if r.mem.ReadKernel(va, r.buf[:8]) != nil {
		return 0, false
	}
	return binary.LittleEndian.Uint64(r.buf[:8]), true
}

// ptr reads a pointer at va and checks that it is one (or nil).
func (r *reader) ptr(va uint64) (uint64, bool) {
	v, ok := r.u64(va)
	if !ok || (v != 0 && !isKernelPtr(v)) {
		return 0, false
	}
	return v, true
}

// obj reads the span sp of the object at va into *buf, which it grows as
// needed: a scan reads thousands of objects, each one kind's buffer in
// turn, and the view is used up before the next object of the kind is
// read.
func (r *reader) obj(buf *[]byte, va uint64, sp span) (view, bool) {
	if uint64(cap(*buf)) < sp.n {
		*buf = make([]byte, sp.n)
	}
	b := (*buf)[:sp.n]
	if r.mem.ReadKernel(va+sp.lo, b) != nil {
		return view{}, false
	}
	return view{lo: sp.lo, b: b}, true
}

// view is bytes [lo, lo+len(b)) of an object, decoded by member offset.
type view struct {
	lo uint64
	b  []byte
}

func (v view) u64(off uint64) uint64 { return binary.LittleEndian.Uint64(v.b[off-v.lo:]) }
func (v view) u32(off uint64) uint32 { return binary.LittleEndian.Uint32(v.b[off-v.lo:]) }
func (v view) u16(off uint64) uint16 { return binary.LittleEndian.Uint16(v.b[off-v.lo:]) }
func (v view) u8(off uint64) uint8   { return v.b[off-v.lo] }

// bytes is n bytes at off.
func (v view) bytes(off, n uint64) []byte { return v.b[off-v.lo : off-v.lo+n] }

// str is a NUL-terminated string of at most n bytes at off.
func (v view) str(off, n uint64) string {
	b := v.bytes(off, n)
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// ptr is the pointer at off, or 0 when the word there is not one.
func (v view) ptr(off uint64) uint64 {
	p := v.u64(off)
	if !isKernelPtr(p) {
		return 0
	}
	return p
}
