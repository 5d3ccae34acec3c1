// Package fingerprint recognises content derived from a protected image. It
// cuts content into content-defined chunks with FastCDC, so that an edit
// moves only the cut points near it, and keeps the SHA-256 and size of each
// distinct chunk: that set is the content's Fingerprint. Similarity tells
// what fraction of one content's bytes are found in another's.
//
// A tar archive (a rootfs) is best fingerprinted with FromTar, which chunks
// each file's content on its own and leaves out the tar headers: then
// re-ordering the files, touching their times or owners, or re-packing the
// archive changes nothing, and an edited file changes only its own chunks.
// docs/FORMATS.md gives the parameters, so that fingerprints can be
// recomputed anywhere.
package fingerprint

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"slices"

	"imgward/errors"
)

// Sum is the fingerprint of one chunk.
type Sum struct {
	Hash [sha256.Size]byte
	Size uint32
}

// Fingerprint is the set of a content's distinct chunks, sorted by hash.
// A chunk that occurs many times (such as a run of zeros in a disk image)
// counts once, so that it cannot make two contents look alike.
type Fingerprint struct {
	sums  []Sum
	bytes int64
}

// New returns the fingerprint of the given chunk sums, as a store kept them.
func New(sums []Sum) *Fingerprint { return fromSums(slices.Clone(sums)) }

// fromSums sorts s in place and makes it a Fingerprint.
func fromSums(s []Sum) *Fingerprint {
	slices.SortFunc(s, func(a, b Sum) int { return bytes.Compare(a.Hash[:], b.Hash[:]) })
	s = slices.CompactFunc(s, func(a, b Sum) bool { return a.Hash == b.Hash })
	f := &Fingerprint{sums: s}
	for _, x := range s {
		f.bytes += int64(x.Size)
	}
	return f
}

// Sums returns the distinct chunks, sorted by hash. The caller must not
// modify them.
func (f *Fingerprint) Sums() []Sum { return f.sums }

// Len returns the number of distinct chunks.
func (f *Fingerprint) Len() int { return len(f.sums) }

// Bytes returns the number of bytes in distinct chunks.
func (f *Fingerprint) Bytes() int64 { return f.bytes }

// Similarity returns the fraction of a's bytes, counted over a's distinct
// chunks, that are in chunks of b: 1 when all of a is found in b, 0 when
// none is or a is empty. It weighs by bytes, not chunks, since FromTar
// makes a chunk of every small file, and a thousand tiny files in common
// say less than one large one. It is not symmetric: a derived image that
// adds much to b is similar to b only as far as it holds b's content.
func Similarity(a, b *Fingerprint) float64 {
	if a.bytes == 0 {
		return 0
	}
	return float64(common(a, b)) / float64(a.bytes)
}

// common returns the bytes of a's chunks that are also in b.
func common(a, b *Fingerprint) int64 {
	var n int64
	both(a, b, func(s Sum) { n += int64(s.Size) })
	return n
}

// both calls f with each of a's chunks that is also in b, merging the two
// sorted lists.
func both(a, b *Fingerprint, f func(Sum)) {
	i, j := 0, 0
	for i < len(a.sums) && j < len(b.sums) {
		switch c := bytes.Compare(a.sums[i].Hash[:], b.sums[j].Hash[:]); {
		case c < 0:
			i++
		case c > 0:
			j++
		default:
			f(a.sums[i])
			i, j = i+1, j+1
		}
	}
}

// Without returns f less the chunks of known, such as the chunks of public
// base images: content that everybody has should not make an image look
// derived from another.
func (f *Fingerprint) Without(known *Fingerprint) *Fingerprint {
	out := &Fingerprint{}
	j := 0
	for _, s := range f.sums {
		for j < len(known.sums) && bytes.Compare(known.sums[j].Hash[:], s.Hash[:]) < 0 {
			j++
		}
		if j < len(known.sums) && known.sums[j].Hash == s.Hash {
			continue
		}
		out.sums = append(out.sums, s)
		out.bytes += int64(s.Size)
	}
	return out
}

// builder collects distinct chunk sums. Its memory grows with the number of
// distinct chunks, about 40 bytes for every Avg bytes of new content.
type builder struct {
	seen    map[[sha256.Size]byte]uint32
	c       *Chunker // reused from one input to the next
	content int64    // bytes chunked so far
	limit   func(content int64) error
}

func (b *builder) add(chunk []byte) {
	if allZero(chunk) {
		// Zeros are no one's content: unallocated blocks of a disk,
		// padding. Kept, their chunk would be common to every sparse
		// disk and make a small unrelated one look like a slice of any
		// other.
		return
	}
	if b.seen == nil {
		b.seen = make(map[[sha256.Size]byte]uint32)
	}
	b.seen[sha256.Sum256(chunk)] = uint32(len(chunk))
}

// addAll chunks r and adds its chunks.
func (b *builder) addAll(ctx context.Context, r io.Reader, p Params) error {
	if b.c == nil {
		c, err := NewChunker(r, p)
		if err != nil {
			return err
		}
		b.c = c
	}
	c := b.c
	c.Reset(r)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		chunk, err := c.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		b.add(chunk)
		b.content += int64(len(chunk))
		if b.limit != nil {
			if err := b.limit(b.content); err != nil {
				return err
			}
		}
	}
}

func (b *builder) fingerprint() *Fingerprint {
	sums := make([]Sum, 0, len(b.seen))
	for h, n := range b.seen {
		sums = append(sums, Sum{Hash: h, Size: n})
	}
	return fromSums(sums)
}

// FromReader fingerprints the content of r, as one stream.
func FromReader(ctx context.Context, r io.Reader, p Params) (*Fingerprint, error) {
	var b builder
	if err := b.addAll(ctx, r, p); err != nil {
		return nil, errors.E("fingerprint.FromReader", err)
	}
	return b.fingerprint(), nil
}
