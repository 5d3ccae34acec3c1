package seal

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
)

// pieceWriterTo hands its bytes to WriteTo's writer in pieces of awkward
// sizes, around a chunk's, as a buffered source would. (NewReader reads the
// header through Read.)
type pieceWriterTo struct{ b []byte }

func (p *pieceWriterTo) Read(b []byte) (int, error) {
	if len(p.b) == 0 {
		return 0, io.EOF
	}
	n := copy(b, p.b)
	p.b = p.b[n:]
	return n, nil
}

func (p *pieceWriterTo) WriteTo(w io.Writer) (int64, error) {
	sizes := []int{1, 7, encChunk - 3, encChunk, encChunk + 5, 2*encChunk + 1, 4096}
	var total int64
	for i := 0; len(p.b) > 0; i++ {
		n := min(len(p.b), sizes[i%len(sizes)])
		m, err := w.Write(p.b[:n])
		total += int64(m)
		p.b = p.b[m:]
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// writeToSources are the kinds of source that Reader.WriteTo treats apart.
var writeToSources = []struct {
	name string
	src  func([]byte) io.Reader
	read int // bytes to Read before WriteTo
}{
	{"memory", func(b []byte) io.Reader { return bytes.NewReader(b) }, 0},
	{"reader", func(b []byte) io.Reader { return struct{ io.Reader }{bytes.NewReader(b)} }, 0},
	{"pieces", func(b []byte) io.Reader { return &pieceWriterTo{b} }, 0},
	{"memory after Read", func(b []byte) io.Reader { return bytes.NewReader(b) }, 100},
	{"reader after Read", func(b []byte) io.Reader { return struct{ io.Reader }{bytes.NewReader(b)} }, ChunkSize + 1},
}

// writeToAll opens sealed from the given source and writes it all out with
// WriteTo, after Reading the first read bytes.
func writeToAll(sealed, key []byte, src func([]byte) io.Reader, read int) ([]byte, error) {
	_, r, err := NewReader(src(sealed), key)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if _, err := io.CopyN(&out, struct{ io.Reader }{r}, int64(read)); err != nil && err != io.EOF {
		return out.Bytes(), err
	}
	n, err := r.WriteTo(&out)
	if err == nil && n != int64(out.Len()-min(read, out.Len())) {
		return out.Bytes(), fmt.Errorf("WriteTo returned %d for %d bytes", n, out.Len())
	}
	return out.Bytes(), err
}

func TestWriteToRoundTrip(t *testing.T) {
	key := testKey(1)
	for _, size := range append(roundTripSizes, 5*ChunkSize+3) {
		plain := plaintext(uint64(size), size)
		sealed := sealBytes(t, key, testHeader, testSalt(3), plain)
		for _, s := range writeToSources {
			got, err := writeToAll(sealed, key, s.src, s.read)
			if err != nil || !bytes.Equal(got, plain) {
				t.Errorf("size %d, %s: err %v, %d bytes, equal %v", size, s.name, err, len(got), bytes.Equal(got, plain))
			}
		}
	}
}

// TestWriteToTamper checks every edit of TestTamper against every source of
// WriteTo: the edit is detected and only whole authentic chunks come out.
func TestWriteToTamper(t *testing.T) {
	sealed := sealBytes(t, tamperKey, testHeader, testSalt(40), tamperPlain)
	for _, tc := range tamperCases(t) {
		for _, s := range writeToSources {
			if s.read > 0 {
				continue // a tampered header fails before Read
			}
			got, err := writeToAll(tc.mutate(bytes.Clone(sealed)), tamperKey, s.src, 0)
			checkRejected(t, tc.name+"/"+s.name, err, got)
		}
	}
}

// failWriter takes n bytes, then fails.
type failWriter struct{ n int }

var errFull = errors.New("destination full")

func (f *failWriter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		k := f.n
		f.n = 0
		return k, errFull
	}
	f.n -= len(p)
	return len(p), nil
}

// TestWriteToDestinationError checks that a failing destination stops
// WriteTo with its error, which stays: the Reader gives no more bytes.
func TestWriteToDestinationError(t *testing.T) {
	sealed := sealBytes(t, testKey(1), testHeader, testSalt(3), plaintext(9, 4*ChunkSize))
	for _, s := range writeToSources[:3] {
		_, r, err := NewReader(s.src(sealed), testKey(1))
		if err != nil {
			t.Fatal(err)
		}
		n, err := r.WriteTo(&failWriter{n: ChunkSize + 10})
		if !errors.Is(err, errFull) || n != ChunkSize+10 {
			t.Errorf("%s: WriteTo wrote %d, err %v; want %d, %v", s.name, n, err, ChunkSize+10, errFull)
		}
		if k, err := r.Read(make([]byte, 10)); k != 0 || !errors.Is(err, errFull) {
			t.Errorf("%s: Read after the failure: %d bytes, err %v", s.name, k, err)
		}
	}
}
