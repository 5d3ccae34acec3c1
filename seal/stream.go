package seal

import (
	"crypto/cipher"
	"io"

	"imgward/errors"
)

// Writer seals a stream. It holds one chunk in memory.
type Writer struct {
	w     io.Writer
	aead  cipher.AEAD
	buf   []byte // the plaintext of the pending chunk; room for its ciphertext
	index uint64
	err   error // sticky; errClosed after Close
}

var errClosed = errors.E("seal.Writer", errors.Conflict, errors.Msg("writer is closed"))

// NewWriter writes the header of a new sealed image for h to w, and returns a
// Writer that seals the image's bytes under dataKey. The caller must Close
// it to write the last chunk; without it the image is truncated and will not
// open. Closing the Writer does not close w.
func NewWriter(w io.Writer, dataKey []byte, h Header) (*Writer, error) {
	return newWriter(w, dataKey, h, newSalt())
}

// newWriter is NewWriter with a given salt, for known-answer tests.
func newWriter(w io.Writer, dataKey []byte, h Header, salt []byte) (*Writer, error) {
	const op = "seal.NewWriter"
	aead, hdr, err := begin(op, dataKey, h, salt)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(hdr); err != nil {
		return nil, errors.E(op, err)
	}
	return &Writer{w: w, aead: aead, buf: make([]byte, 0, encChunk)}, nil
}

// Write seals p. A full chunk is written only once more data follows it,
// since the last chunk, full or not, is sealed differently.
func (w *Writer) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if w.err != nil {
			return n, w.err
		}
		if len(w.buf) == ChunkSize {
			w.emit(w.buf, false)
			continue
		}
		if len(w.buf) == 0 && len(p) > ChunkSize {
			// A whole chunk that is not the last: seal it straight from p.
			w.emit(p[:ChunkSize], false)
			n, p = n+ChunkSize, p[ChunkSize:]
			continue
		}
		k := copy(w.buf[len(w.buf):ChunkSize], p)
		w.buf = w.buf[:len(w.buf)+k]
		n, p = n+k, p[k:]
	}
	return n, w.err
}

// emit seals plain as the next chunk and writes it.
func (w *Writer) emit(plain []byte, final bool) {
	ct := sealChunk(w.aead, w.buf[:0], plain, w.index, final)
	w.index++
	w.buf = w.buf[:0]
	if _, err := w.w.Write(ct); err != nil {
		w.err = errors.E("seal.Writer", err)
	}
}

// Close seals and writes the last chunk. Closing again returns nil.
func (w *Writer) Close() error {
	if w.err == errClosed {
		return nil
	}
	if w.err != nil {
		return w.err
	}
	w.emit(w.buf, true)
	if w.err != nil {
		return w.err
	}
	w.err = errClosed
	return nil
}

// Reader opens a sealed stream. It holds one chunk in memory (two in a
// WriteTo that opens chunks straight from the source's bytes) and returns a
// chunk's bytes only once the chunk is authenticated; the end of the stream
// is authenticated too, so that a truncated image ends in ErrAuth, never
// io.EOF. Bytes already returned are authentic but may be only a prefix of
// the image: treat the output as complete only on io.EOF.
type Reader struct {
	cr    chunkReader
	aead  cipher.AEAD
	buf   []byte
	plain []byte // authenticated bytes not yet read
	index uint64
	err   error // sticky; io.EOF after the last chunk
}

// NewReader reads and authenticates the header of the sealed image in r with
// dataKey, and returns it with a Reader of the image's bytes. A wrong key or
// an edited header fails here with ErrAuth.
func NewReader(r io.Reader, dataKey []byte) (*Header, *Reader, error) {
	const op = "seal.NewReader"
	rh, err := readHeader(op, r)
	if err != nil {
		return nil, nil, err
	}
	aead, err := rh.open(op, dataKey)
	if err != nil {
		return nil, nil, err
	}
	return &rh.Header, &Reader{
		cr:   chunkReader{r: r, n: encChunk},
		aead: aead,
		buf:  make([]byte, encChunk+1),
	}, nil
}

// Read reads authenticated plaintext.
func (r *Reader) Read(p []byte) (int, error) {
	for len(r.plain) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		r.err = r.next()
	}
	n := copy(p, r.plain)
	r.plain = r.plain[n:]
	return n, nil
}

// WriteTo writes the rest of the plaintext to w, without Read's copy: each
// chunk is opened where it lies and written from there (see chunkSink).
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	if len(r.plain) > 0 {
		n, err := w.Write(r.plain)
		total += int64(n)
		r.plain = r.plain[n:]
		if err != nil {
			return total, err
		}
	}
	if r.err == io.EOF {
		return total, nil
	}
	if r.err != nil {
		return total, r.err
	}
	s := &chunkSink{r: r, w: w, pend: r.buf[:0]}
	if r.cr.hasAhead {
		s.pend = append(s.pend, r.cr.ahead)
		r.cr.hasAhead = false
	}
	r.err = s.drain(r.cr.r)
	if r.err == io.EOF {
		return total + s.written, nil
	}
	return total + s.written, r.err
}

// next reads and opens the next chunk. It returns io.EOF with the last one.
func (r *Reader) next() error {
	const op = "seal.Reader"
	n, final, err := r.cr.next(r.buf)
	if err != nil {
		return errors.E(op, err)
	}
	p, err := openChunk(r.aead, r.buf[:n], r.index, final)
	if err != nil {
		return authError(op)
	}
	r.index++
	r.plain = p
	if final {
		return io.EOF
	}
	return nil
}
