package seal

import (
	"crypto/cipher"
	"io"
	"sync"

	"imgward/errors"
)

// ReaderAt reads a sealed image at random: each read authenticates and
// decrypts only the chunks it touches. It is safe for concurrent use, so
// that several goroutines may decrypt different chunks at once.
type ReaderAt struct {
	ra     io.ReaderAt
	h      Header
	aead   cipher.AEAD
	start  int64 // offset of chunk 0
	end    int64 // size of the sealed image
	chunks int64
	size   int64 // plaintext bytes
}

// OpenReaderAt opens the sealed image of size bytes in ra with dataKey. It
// authenticates the header and the last chunk, which proves that the image
// ends where it was sealed to end: so Size is authentic, and a truncated or
// extended image fails here with ErrAuth.
func OpenReaderAt(ra io.ReaderAt, size int64, dataKey []byte) (*ReaderAt, error) {
	const op = "seal.OpenReaderAt"
	if err := checkKey(op, dataKey); err != nil {
		return nil, err
	}
	rh, err := readHeader(op, io.NewSectionReader(ra, 0, size))
	if err != nil {
		return nil, err
	}
	aead, err := rh.open(op, dataKey)
	if err != nil {
		return nil, err
	}
	start := int64(len(rh.body) + macSize)
	chunks, plain, ok := layout(size - start)
	if !ok {
		return nil, authError(op)
	}
	r := &ReaderAt{ra: ra, h: rh.Header, aead: aead, start: start, end: size, chunks: chunks, size: plain}
	buf := getBuf()
	defer putBuf(buf)
	if _, err := r.ReadChunk(*buf, chunks-1); err != nil {
		return nil, err
	}
	return r, nil
}

// Header returns the authenticated header.
func (r *ReaderAt) Header() Header { return r.h }

// Size returns the number of plaintext bytes.
func (r *ReaderAt) Size() int64 { return r.size }

// NumChunks returns the number of chunks, at least 1.
func (r *ReaderAt) NumChunks() int64 { return r.chunks }

// ReadChunk authenticates and decrypts chunk i, the plaintext bytes from
// i*ChunkSize on, into buf, which must hold ChunkSize+Overhead bytes, and
// returns the plaintext, a prefix of buf.
func (r *ReaderAt) ReadChunk(buf []byte, i int64) ([]byte, error) {
	const op = "seal.ReadChunk"
	if i < 0 || i >= r.chunks {
		return nil, errors.E(op, errors.Invalid, errors.Msg("chunk index out of range"))
	}
	if len(buf) < encChunk {
		return nil, errors.E(op, errors.Invalid, errors.Msg("buffer too small"))
	}
	off := r.start + i*encChunk
	n := min(int64(encChunk), r.end-off)
	m, err := r.ra.ReadAt(buf[:n], off)
	if int64(m) < n {
		if err == nil || err == io.EOF {
			return nil, authError(op) // the file shrank since it was opened
		}
		return nil, errors.E(op, err)
	}
	p, err := openChunk(r.aead, buf[:n], uint64(i), i == r.chunks-1)
	if err != nil {
		return nil, authError(op)
	}
	return p, nil
}

// ReadAt reads len(p) plaintext bytes at off, as io.ReaderAt does. On an
// error, p holds only authenticated bytes, up to the count returned. Each
// call authenticates every chunk it touches, whole: read in large pieces.
func (r *ReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.E("seal.ReadAt", errors.Invalid, errors.Msg("negative offset"))
	}
	buf := getBuf()
	defer putBuf(buf)
	n := 0
	for n < len(p) && off < r.size {
		i := off / ChunkSize
		plain, err := r.ReadChunk(*buf, i)
		if err != nil {
			return n, err
		}
		k := copy(p[n:], plain[off-i*ChunkSize:])
		n, off = n+k, off+int64(k)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

var bufs = sync.Pool{New: func() any { b := make([]byte, encChunk); return &b }}

func getBuf() *[]byte { return bufs.Get().(*[]byte) }

func putBuf(b *[]byte) { bufs.Put(b) }
