package seal

import (
	"io"

	"imgward/errors"
)

// chunkSink is the Reader's WriteTo: the sealed stream is pushed into it,
// and it opens each chunk and writes the plaintext on. A source that holds
// its bytes in memory (bytes.Reader, bytes.Buffer) hands them over in its
// own WriteTo, and every chunk with a byte after it is opened straight from
// them into out: one pass over the ciphertext, as raw AES-GCM on a buffer.
// Any other source is read into pend (ReadFrom), one chunk and one byte
// ahead at a time, and opened in place, as Read does. Either way a chunk is
// the last exactly when nothing follows it, so the last one is always held
// in pend until the source ends.
type chunkSink struct {
	r       *Reader
	w       io.Writer
	pend    []byte // r.buf[:k]: bytes of the next chunk, not yet opened
	out     []byte // plaintext of a chunk opened out of place; allocated on first use
	written int64
	err     error // sticky
}

// drain pushes the rest of src through s and opens its last chunk. It
// returns io.EOF when the whole image was written, as Reader.next does.
func (s *chunkSink) drain(src io.Reader) error {
	var err error
	if wt, ok := src.(io.WriterTo); ok {
		_, err = wt.WriteTo(s)
	} else {
		_, err = s.ReadFrom(src)
	}
	if s.err != nil {
		return s.err
	}
	if err != nil {
		return errors.E("seal.Reader", err)
	}
	if err := s.emit(s.pend, s.pend[:0], true); err != nil {
		return err
	}
	return io.EOF
}

// Write takes the next bytes of the sealed stream. It never modifies or
// keeps p: chunks in p are opened out of place, and the tail that may be
// the last chunk is copied to pend.
func (s *chunkSink) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n := len(p)
	if len(s.pend) > 0 {
		k := copy(s.pend[len(s.pend):encChunk], p)
		s.pend, p = s.pend[:len(s.pend)+k], p[k:]
		if len(s.pend) < encChunk || len(p) == 0 {
			return n, nil
		}
		if err := s.emit(s.pend, s.pend[:0], false); err != nil {
			return n - len(p), err
		}
		s.pend = s.pend[:0]
	}
	for len(p) > encChunk {
		if s.out == nil {
			s.out = make([]byte, 0, ChunkSize)
		}
		if err := s.emit(p[:encChunk], s.out, false); err != nil {
			return n - len(p), err
		}
		p = p[encChunk:]
	}
	s.pend = append(s.pend, p...)
	return n, nil
}

// ReadFrom reads src into pend a chunk and a byte at a time and opens each
// chunk in place, until src ends; the last chunk stays in pend.
func (s *chunkSink) ReadFrom(src io.Reader) (int64, error) {
	var total int64
	buf := s.r.buf // encChunk+1 bytes; pend is its start
	for s.err == nil {
		m, err := io.ReadFull(src, buf[len(s.pend):encChunk+1])
		total += int64(m)
		s.pend = buf[:len(s.pend)+m]
		switch err {
		case io.EOF, io.ErrUnexpectedEOF:
			return total, nil
		case nil:
		default:
			return total, err
		}
		ahead := buf[encChunk]
		if err := s.emit(buf[:encChunk], buf[:0], false); err != nil {
			return total, err
		}
		buf[0], s.pend = ahead, buf[:1]
	}
	return total, s.err
}

// emit opens the sealed chunk ct into dst (ct[:0] to open in place) as the
// Reader's next chunk, and writes the plaintext to w.
func (s *chunkSink) emit(ct, dst []byte, final bool) error {
	const op = "seal.Reader"
	r := s.r
	p, err := openChunkTo(r.aead, dst, ct, r.index, final)
	if err != nil {
		s.err = authError(op)
		return s.err
	}
	r.index++
	n, err := s.w.Write(p)
	s.written += int64(n)
	if err != nil {
		s.err = err
	}
	return s.err
}
