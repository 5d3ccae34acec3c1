// Package seal is the whole-image sealed format, version 1: an image
// encrypted under a per-image data key with a streaming chunked AEAD, behind
// a header that binds it to its image, its owner and the KMS key that wraps
// its data key. docs/FORMATS.md specifies it byte by byte.
//
// The payload is the STREAM construction of Hoang, Reyhanitabar, Rogaway and
// Vizár (as in age): AES-256-GCM over 64 KiB chunks, each nonce holding the
// chunk's index and a flag set only on the last chunk. So a reordered,
// dropped, duplicated or appended chunk fails to authenticate, and so does a
// file cut at a chunk boundary, whose new last chunk lacks the flag. The
// chunk key is derived per file from the data key, a random salt and the
// whole header, so that one data key seals many files, chunks cannot move
// between files, and an edited header yields a wrong key.
//
// Three ways to open: NewReader streams, OpenReaderAt reads at random,
// Unseal decrypts on several goroutines; each authenticates a chunk before
// it returns any byte of it. ParseHeader reads the binding without a key,
// to find the key; OpenHeader authenticates it with the key, so that the
// broker can check the binding it is about to release a key for.
//
// Errors are of kind Invalid for input that is malformed (ErrFormat) or that
// fails authentication (ErrAuth: the wrong key, or tampered, truncated or
// extended data). A data key is never logged or put in an error.
package seal

import (
	"crypto/cipher"
	"encoding/binary"
	"io"

	"imgward"
	"imgward/errors"
)

// The constants of format version 1.
const (
	Magic     = "IMGWSEAL"          // the first bytes of every sealed image
	Version   = 1                   // the format version that this package writes and reads
	ChunkSize = 64 << 10            // plaintext bytes in every chunk but the last
	Overhead  = 16                  // the GCM tag that each chunk adds
	KeySize   = imgward.DataKeySize // bytes in a data key: 32

	encChunk = ChunkSize + Overhead
	saltSize = 32
	macSize  = 32
	nonceLen = 12
)

var (
	// ErrAuth means that sealed data failed authentication: the data key is
	// wrong, or the header or a chunk was changed, or chunks were reordered,
	// dropped, duplicated or appended, or the file was cut short. The two
	// cannot be told apart, by design.
	ErrAuth = errors.New("wrong key, or tampered or truncated data")
	// ErrFormat means that input is not a well-formed sealed image of a
	// version this package reads; it is detected without the key.
	ErrFormat = errors.New("not a well-formed sealed image")
)

func authError(op string) error { return errors.E(op, errors.Invalid, ErrAuth) }

func formatError(op, msg string) error {
	return errors.E(op, errors.Invalid, errors.Msg(msg), ErrFormat)
}

// checkKey rejects a data key of the wrong size without showing it.
func checkKey(op string, key []byte) error {
	if len(key) != KeySize {
		return errors.E(op, errors.Invalid, errors.Msg("data key must be 32 bytes"))
	}
	return nil
}

// nonce is the nonce of chunk i: an 11-byte big-endian counter and a last
// chunk flag. It need not be random: every file has its own chunk key.
func nonce(n *[nonceLen]byte, i uint64, final bool) {
	binary.BigEndian.PutUint64(n[3:11], i)
	n[11] = 0
	if final {
		n[11] = 1
	}
}

// sealChunk appends the sealed chunk i of plain to dst. plain may be
// dst[:len(plain)], to seal in place.
func sealChunk(aead cipher.AEAD, dst, plain []byte, i uint64, final bool) []byte {
	var n [nonceLen]byte
	nonce(&n, i, final)
	return aead.Seal(dst, n[:], plain, nil)
}

// openChunk authenticates and decrypts the sealed chunk i in place. Besides
// the tag, it enforces the sizes the writer produces: every chunk but the
// last is full, and only the chunk of an empty image is empty. That makes the
// encoding canonical, so that the plaintext size follows from the file size.
func openChunk(aead cipher.AEAD, ct []byte, i uint64, final bool) ([]byte, error) {
	p, err := openChunkTo(aead, ct[:0], ct, i, final)
	if err != nil {
		clear(ct)
	}
	return p, err
}

// openChunkTo is openChunk with the plaintext appended to dst, which is
// either ct[:0] or a buffer that does not overlap ct; ct is not changed
// unless it is dst. On failure nothing is returned (GCM clears dst).
func openChunkTo(aead cipher.AEAD, dst, ct []byte, i uint64, final bool) ([]byte, error) {
	switch {
	case len(ct) < Overhead || len(ct) > encChunk,
		!final && len(ct) != encChunk,
		final && len(ct) == Overhead && i > 0:
		return nil, ErrAuth
	}
	var n [nonceLen]byte
	nonce(&n, i, final)
	p, err := aead.Open(dst, n[:], ct, nil)
	if err != nil {
		return nil, ErrAuth
	}
	return p, nil
}

// chunkReader cuts a stream into pieces of n bytes. It reads one byte ahead,
// so that it knows a piece is the last when it returns it: a piece is final
// exactly when nothing follows it, full or not.
type chunkReader struct {
	r        io.Reader
	n        int
	ahead    byte
	hasAhead bool
}

// next reads the next piece into buf, which must hold n+1 bytes, and returns
// its length and whether it is the last. After the last piece, the caller
// must not call next again.
func (c *chunkReader) next(buf []byte) (int, bool, error) {
	k := 0
	if c.hasAhead {
		buf[0], k = c.ahead, 1
	}
	m, err := io.ReadFull(c.r, buf[k:c.n+1])
	m += k
	switch err {
	case nil:
		c.ahead, c.hasAhead = buf[c.n], true
		return c.n, false, nil
	case io.EOF, io.ErrUnexpectedEOF:
		c.hasAhead = false
		return m, true, nil
	}
	return 0, false, err
}

// SealedSize returns the size of the sealed image of size plaintext bytes
// under h, so that a store can check or announce it in advance.
func SealedSize(size int64, h Header) int64 {
	chunks := max(1, (size+ChunkSize-1)/ChunkSize)
	return int64(h.encodedLen()) + macSize + size + chunks*Overhead
}

// layout returns the number of chunks and of plaintext bytes in a payload
// of n bytes, and false if no writer produces a payload of that size.
func layout(n int64) (chunks, size int64, ok bool) {
	if n < Overhead {
		return 0, 0, false
	}
	chunks = (n + encChunk - 1) / encChunk
	last := n - (chunks-1)*encChunk
	if last < Overhead || last == Overhead && chunks > 1 {
		return 0, 0, false
	}
	return chunks, n - chunks*Overhead, true
}
