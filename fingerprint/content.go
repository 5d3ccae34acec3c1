package fingerprint

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"slices"

	"imgward/errors"
)

// FromContent fingerprints an upload of any shape, whole or a piece cut
// anywhere, so that cutting a protected image into byte ranges does not hide
// where they come from:
//
//   - gzip-compressed input (the bytes 1f 8b and a valid gzip header) is
//     decompressed first; a compressed stream that breaks off counts up to
//     where it breaks;
//   - the regular files of every tar archive found in the stream are
//     chunked file by file, as FromTar does, so that a well-formed archive
//     has the same fingerprint from both;
//   - every other byte (a raw disk image, the tail of a file before the
//     first whole tar header of a piece, what follows an archive's end) is
//     chunked as one stream per run, as FromReader does.
//
// A tar header is recognised anywhere in the stream, not only at multiples
// of 512 bytes, by its "ustar" magic and its checksum; a file cut short by
// the end of the input counts up to the cut. So the first piece of a
// byte-split archive fingerprints as its whole files and the start of the
// cut one, a later piece as the end of a cut file, chunked from the cut
// (content-defined cuts agree again after a chunk or two), then its whole
// files. docs/FORMATS.md §2.5 gives the details.
//
// The work is bounded as FromTar's is: content over MaxExpansion times the
// input is an error of kind TooLarge. An error of r or of ctx is returned
// as it is; malformed input is not an error.
func FromContent(ctx context.Context, r io.Reader, p Params) (*Fingerprint, error) {
	return fromContent(ctx, r, p, MaxExpansion)
}

func fromContent(ctx context.Context, r io.Reader, p Params, ratio int64) (*Fingerprint, error) {
	return bounded(ctx, "fingerprint.FromContent", r, p, ratio, walkContent, errors.Internal, "")
}

// decompressed returns a buffered reader of r's content: gunzipped when r
// starts with a gzip header, as it is otherwise (bytes that start with
// 1f 8b by chance are kept as they are).
func decompressed(r io.Reader) *bufio.Reader {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(4 << 10)
	if len(head) < 2 || head[0] != 0x1f || head[1] != 0x8b {
		return br
	}
	if _, err := gzip.NewReader(bytes.NewReader(head)); err != nil {
		return br
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return br
	}
	return bufio.NewReaderSize(&endReader{r: zr}, 64<<10)
}

// endReader ends its content at the first error of r: a compressed stream
// that breaks off (the first piece of a cut .tar.gz) or is corrupt counts
// up to there. An error of the caller's reader below is kept by srcReader.
type endReader struct{ r io.Reader }

func (e *endReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil {
		err = io.EOF
	}
	return n, err
}

// walkContent fingerprints r's content, decompressed: runs of raw bytes,
// and the regular files of the tar archives that start in it.
func walkContent(ctx context.Context, r io.Reader, p Params, limit func(int64) error) (*Fingerprint, error) {
	b := &builder{limit: limit}
	br := decompressed(r)
	for {
		seg := &rawSegment{br: br}
		if err := b.addAll(ctx, seg, p); err != nil {
			return nil, err
		}
		if !seg.header {
			return b.fingerprint(), nil
		}
		if err := walkArchive(ctx, b, br, p); err != nil {
			return nil, err
		}
	}
}

// walkArchive adds the regular files of the archive that starts at br,
// until its end or the first thing in it that is not a valid archive; br
// is then just past what the archive reader took. The blocks of zeros
// that end an archive, and pad it to a record, are skipped: they are not
// content, and would make every archive share a chunk.
func walkArchive(ctx context.Context, b *builder, br *bufio.Reader, p Params) error {
	tr := tar.NewReader(br)
	for {
		hdr, err := tr.Next()
		if err != nil {
			break // the end, a cut or garbage: the rest is raw bytes again
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		if err := b.addAll(ctx, &endReader{r: tr}, p); err != nil {
			return err
		}
	}
	for {
		blk, _ := br.Peek(blockSize)
		if len(blk) < blockSize || !allZero(blk) {
			return nil
		}
		br.Discard(blockSize)
	}
}

const blockSize = 512

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// rawSegment reads br up to the next tar header, or its end. header tells
// which: then br is at the header.
type rawSegment struct {
	br     *bufio.Reader
	clean  int      // bytes at the front of br's buffer that start no header
	sums   []uint32 // scratch for headerIndex
	header bool
}

func (s *rawSegment) Read(p []byte) (int, error) {
	if s.header {
		return 0, io.EOF
	}
	buf, err := s.br.Peek(s.br.Size())
	if len(buf) == 0 {
		return 0, err
	}
	// clean: the front of buf known to start no header.
	var clean int
	if i := headerIndex(buf, s.clean, &s.sums); i == 0 {
		s.header = true
		return 0, io.EOF
	} else if i > 0 {
		clean = i
	} else if err == nil {
		clean = len(buf) - blockSize + 1 // a header may start in the last block
	} else {
		clean = len(buf) // the input ends in buf
	}
	n := copy(p, buf[:clean])
	s.br.Discard(n)
	s.clean = clean - n
	return n, nil
}

var ustar = []byte("ustar")

// headerIndex returns the offset of the first whole tar header in buf at
// or after from, or -1: a block with the ustar magic at 257 (POSIX and
// GNU archives; version 7 archives have none) and a valid checksum: the
// sum of its bytes with the checksum field (148..156) taken as spaces,
// stored in octal there. The sums of the blocks come from prefix sums of
// buf, made in *scratch at the first candidate, so that input made of
// magic after magic costs a few operations a byte, not one block's sum
// per candidate.
func headerIndex(buf []byte, from int, scratch *[]uint32) int {
	var sums []uint32 // sums[k] = buf[from] + ... + buf[from+k-1]
	for pos := from; pos+blockSize <= len(buf); {
		j := bytes.Index(buf[pos+257:], ustar)
		if j < 0 {
			return -1
		}
		i := pos + j
		if i+blockSize > len(buf) {
			return -1
		}
		if sums == nil {
			sums = prefixSums(buf[from:], scratch)
		}
		blk := buf[i : i+blockSize]
		total := sums[i-from+blockSize] - sums[i-from]
		if checksum(blk, total) {
			return i
		}
		pos = i + 1
	}
	return -1
}

// prefixSums fills *scratch with the prefix sums of b and returns them.
func prefixSums(b []byte, scratch *[]uint32) []uint32 {
	sums := slices.Grow((*scratch)[:0], len(b)+1)[:len(b)+1]
	sums[0] = 0
	for k, c := range b {
		sums[k+1] = sums[k] + uint32(c)
	}
	*scratch = sums
	return sums
}

// checksum reports whether blk, whose bytes sum to total, holds its own
// checksum.
func checksum(blk []byte, total uint32) bool {
	// The field: octal digits, padded with spaces or NULs on either side
	// (parsed by hand: strconv's error for each false candidate would be
	// an allocation).
	field := bytes.Trim(blk[148:156], " \x00")
	if len(field) == 0 {
		return false
	}
	var want uint32
	for _, c := range field {
		if c < '0' || c > '7' {
			return false
		}
		want = want<<3 | uint32(c-'0')
	}
	for _, c := range blk[148:156] {
		total -= uint32(c)
	}
	return total+8*' ' == want
}
