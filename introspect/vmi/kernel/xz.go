package kernel

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io"

	"imgward/errors"

	"github.com/ulikunitz/xz/lzma"
)

// The kernel compresses a vmlinuz's payload with xz's x86 branch filter
// (BCJ) before LZMA2 (scripts/xz_wrap.sh), which github.com/ulikunitz/xz
// does not decode. unxz reads the first block of such a stream itself:
// the block header, the LZMA2 data through ulikunitz/xz/lzma, then the
// x86 filter undone over the whole output. A stream of plain LZMA2 is
// read the same way, without the filter. Only the first block is read: the
// kernel's scripts/xz_wrap.sh writes one (a multi-threaded xz cuts blocks
// of three dictionaries, 96 MiB, more than a vmlinux); a stream of several
// blocks comes out cut short at the first block's end.

const (
	filterX86   = 0x04
	filterLZMA2 = 0x21
)

// unxz decompresses the xz stream at the start of b, up to maxVmlinux
// bytes.
func unxz(b []byte) ([]byte, error) {
	corrupt := func(why string) error {
		return errors.E(errors.Invalid, errors.Msg("the vmlinuz's xz stream is corrupt: "+why))
	}
	if len(b) < 12+8 || !bytes.HasPrefix(b, xzMagic) {
		return nil, corrupt("no stream header")
	}
	// The stream header, then the first block's header: its size/4-1,
	// flags (filters-1 in bits 0-1; sizes present in bits 6 and 7),
	// the optional sizes, the filters, padding and a CRC32.
	h := b[12:]
	size := (int(h[0]) + 1) * 4
	if h[0] == 0 || size > len(h) || crc32.ChecksumIEEE(h[:size-4]) != binary.LittleEndian.Uint32(h[size-4:]) {
		return nil, corrupt("a bad block header")
	}
	r := bytes.NewReader(h[2 : size-4])
	flags := h[1]
	for bit := byte(0x40); bit != 0; bit <<= 1 { // the sizes: unused
		if flags&bit != 0 {
			if _, err := binary.ReadUvarint(r); err != nil {
				return nil, corrupt("a bad block size")
			}
		}
	}
	var ids []uint64
	var dictProp byte
	for range int(flags&3) + 1 {
		id, err1 := binary.ReadUvarint(r)
		n, err2 := binary.ReadUvarint(r)
		if err1 != nil || err2 != nil || n > uint64(r.Len()) {
			return nil, corrupt("a bad filter")
		}
		props := make([]byte, n)
		r.Read(props)
		switch {
		case id == filterX86 && n == 0:
		case id == filterLZMA2 && n == 1:
			dictProp = props[0]
		default:
			return nil, errors.E(errors.Invalid, errors.Msg("the vmlinuz's xz stream uses filters this reader does not decode (want x86 and LZMA2)"))
		}
		ids = append(ids, id)
	}
	x86 := len(ids) == 2 && ids[0] == filterX86 && ids[1] == filterLZMA2
	if !x86 && (len(ids) != 1 || ids[0] != filterLZMA2) || dictProp > 40 {
		return nil, errors.E(errors.Invalid, errors.Msg("the vmlinuz's xz stream uses filters this reader does not decode (want x86 and LZMA2, or LZMA2)"))
	}
	// The dictionary is allocated whole before the first byte is decoded:
	// the stream's own claim (up to 4 GiB) is capped, for plain LZMA2 too,
	// which is why it does not go through xz.Reader (that takes the
	// block's dictionary size as it is).
	dict := (2 | int(dictProp)&1) << (dictProp/2 + 11)
	if dict > maxDict {
		return nil, errors.E(errors.TooLarge, errors.Msg("the vmlinuz's xz stream wants a dictionary of more than 64 MiB"))
	}
	lr, err := lzma.Reader2Config{DictCap: dict}.NewReader2(bytes.NewReader(h[size:]))
	if err != nil {
		return nil, corrupt(err.Error())
	}
	out, err := readAll(lr)
	if err != nil {
		return nil, err
	}
	if x86 {
		unfilterX86(out)
	}
	return out, nil
}

// readAll reads r to its end, up to maxVmlinux bytes.
func readAll(r io.Reader) ([]byte, error) {
	var out bytes.Buffer
	n, err := io.Copy(&out, io.LimitReader(r, maxVmlinux+1))
	switch {
	case err != nil:
		return nil, errors.E(errors.Invalid, errors.Msg("the vmlinuz's xz stream is corrupt"), err)
	case n > maxVmlinux:
		return nil, errors.E(errors.TooLarge, errors.Msg("the vmlinuz decompresses to more than 256 MiB"))
	}
	return out.Bytes(), nil
}

// unfilterX86 undoes xz's x86 branch filter (xz's simple/x86.c, decoding,
// from position 0) in place: the filter made the 32-bit displacements of
// CALL (E8) and JMP (E9) absolute, for better compression.
func unfilterX86(buf []byte) {
	allowed := [8]bool{true, true, true, false, true, false, false, false}
	bitNumber := [8]uint32{0, 1, 2, 2, 3, 3, 3, 3}
	msByte := func(b byte) bool { return b == 0 || b == 0xff }
	var prevMask uint32
	prevPos := ^uint32(4) // -5
	for pos := 0; pos+5 <= len(buf); {
		b := buf[pos]
		if b != 0xe8 && b != 0xe9 {
			pos++
			continue
		}
		offset := uint32(pos) - prevPos
		prevPos = uint32(pos)
		if offset > 5 {
			prevMask = 0
		} else {
			for range offset {
				prevMask &= 0x77
				prevMask <<= 1
			}
		}
		b = buf[pos+4]
		if !msByte(b) || !allowed[(prevMask>>1)&7] || prevMask>>1 >= 0x10 {
			pos++
			prevMask |= 1
			if msByte(b) {
				prevMask |= 0x10
			}
			continue
		}
		src := binary.LittleEndian.Uint32(buf[pos+1:])
		var dest uint32
		for {
			dest = src - uint32(pos+5)
			if prevMask == 0 {
				break
			}
			i := bitNumber[prevMask>>1]
			if !msByte(byte(dest >> (24 - i*8))) {
				break
			}
			src = dest ^ (1<<(32-i*8) - 1)
		}
		dest = dest&0x00ffffff | uint32(byte(^((dest>>24)&1-1)))<<24
		binary.LittleEndian.PutUint32(buf[pos+1:], dest)
		pos += 5
		prevMask = 0
	}
}
