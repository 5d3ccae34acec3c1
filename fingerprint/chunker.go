package fingerprint

import (
	"crypto/sha256"
	"encoding/binary"
	"io"
	"math/bits"

	"imgward/errors"
)

// Params are the chunk sizes of content-defined chunking, in bytes. Avg must
// be a power of two, with 64 <= Min < Avg < Max <= MaxChunk.
type Params struct {
	Min, Avg, Max int
}

// Default are the parameters imgward fingerprints images with. Changing them
// changes every fingerprint: stored fingerprints must then be recomputed.
var Default = Params{Min: 2 << 10, Avg: 8 << 10, Max: 64 << 10}

// MaxChunk bounds Params.Max, and so the memory a Chunker holds.
const MaxChunk = 1 << 20

func (p Params) check() error {
	if p.Min < 64 || p.Min >= p.Avg || p.Avg >= p.Max || p.Max > MaxChunk || bits.OnesCount(uint(p.Avg)) != 1 {
		return errors.E("fingerprint.Params", errors.Invalid,
			errors.Msg("chunk sizes must satisfy 64 <= min < avg < max <= 1 MiB, avg a power of two"))
	}
	return nil
}

// gearSeed is the seed of the gear table. gear[i] is the first 8 bytes,
// big-endian, of SHA-256(gearSeed || byte(i)): random-looking, and the same
// in any language, so that fingerprints can be recomputed anywhere.
const gearSeed = "imgward-fingerprint-gear-v1"

var gear = func() (g [256]uint64) {
	for i := range g {
		s := sha256.Sum256(append([]byte(gearSeed), byte(i)))
		g[i] = binary.BigEndian.Uint64(s[:8])
	}
	return g
}()

// cutter finds FastCDC cut points (Xia et al., USENIX ATC 2016) with
// normalized chunking at level 2: below Avg a cut needs log2(Avg)+2 zero
// bits, above it log2(Avg)-2, which pulls chunk sizes toward Avg. The bits
// are the top bits of the gear hash, which depend on the last 64 bytes.
type cutter struct {
	min, avg, max int
	maskS, maskL  uint64
}

func newCutter(p Params) cutter {
	b := bits.TrailingZeros(uint(p.Avg))
	return cutter{
		min: p.Min, avg: p.Avg, max: p.Max,
		maskS: ^uint64(0) << (64 - (b + 2)),
		maskL: ^uint64(0) << (64 - (b - 2)),
	}
}

// cut returns the length of the chunk at the start of b. b must hold Max
// bytes, or all that is left of the input. Hashing starts at Min, since no
// cut can come before it (the paper's cut-point skipping).
func (c *cutter) cut(b []byte) int {
	if len(b) <= c.min {
		return len(b)
	}
	b = b[:min(len(b), c.max)]
	normal := min(len(b), c.avg)
	var h uint64
	for i, x := range b[c.min:normal] {
		h = h<<1 + gear[x]
		if h&c.maskS == 0 {
			return c.min + i + 1
		}
	}
	for i, x := range b[normal:] {
		h = h<<1 + gear[x]
		if h&c.maskL == 0 {
			return normal + i + 1
		}
	}
	return len(b)
}

// Chunker cuts a stream into content-defined chunks. It holds 2×Max bytes.
type Chunker struct {
	r          io.Reader
	c          cutter
	buf        []byte
	start, end int
	eof        bool
}

// NewChunker returns a Chunker of r with parameters p.
func NewChunker(r io.Reader, p Params) (*Chunker, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	return &Chunker{r: r, c: newCutter(p), buf: make([]byte, 2*p.Max)}, nil
}

// Reset makes c chunk r from its start, keeping its buffer, so that one
// Chunker serves many small inputs, such as the files of an archive.
func (c *Chunker) Reset(r io.Reader) {
	c.r, c.start, c.end, c.eof = r, 0, 0, false
}

// Next returns the next chunk, which is valid until the next call, or
// io.EOF after the last. An empty input has no chunks.
func (c *Chunker) Next() ([]byte, error) {
	if c.end-c.start < c.c.max && !c.eof {
		if err := c.fill(); err != nil {
			return nil, err
		}
	}
	if c.start == c.end {
		return nil, io.EOF
	}
	n := c.c.cut(c.buf[c.start:c.end])
	chunk := c.buf[c.start : c.start+n]
	c.start += n
	return chunk, nil
}

// fill moves the unread bytes to the front and reads until the buffer is
// full or the input ends. Only io.EOF ends it: io.ErrUnexpectedEOF from a
// tar.Reader means a truncated archive, and is an error.
func (c *Chunker) fill() error {
	c.end = copy(c.buf, c.buf[c.start:c.end])
	c.start = 0
	for c.end < len(c.buf) {
		n, err := c.r.Read(c.buf[c.end:])
		c.end += n
		if err == io.EOF {
			c.eof = true
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}
