package seal

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"

	"imgward/errors"
)

// TestRandomAccess checks that ReaderAt returns what the stream holds, at
// random offsets and lengths, chunk by chunk in any order, and concurrently.
func TestRandomAccess(t *testing.T) {
	key := testKey(1)
	for _, size := range roundTripSizes {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			plain := plaintext(uint64(size), size)
			sealed := sealBytes(t, key, testHeader, testSalt(3), plain)
			ra, err := OpenReaderAt(bytes.NewReader(sealed), int64(len(sealed)), key)
			if err != nil {
				t.Fatal(err)
			}
			if ra.Size() != int64(size) || ra.Header() != testHeader {
				t.Fatalf("Size %d, Header %+v", ra.Size(), ra.Header())
			}
			all, err := io.ReadAll(io.NewSectionReader(ra, 0, ra.Size()))
			if err != nil || !bytes.Equal(all, plain) {
				t.Fatalf("reading all: %v, equal %v", err, bytes.Equal(all, plain))
			}
			rng := rand.New(rand.NewPCG(1, uint64(size)))
			for range 50 {
				off := rng.Int64N(int64(size) + 2)
				n := rng.IntN(3 * ChunkSize)
				p := make([]byte, n)
				got, err := ra.ReadAt(p, off)
				want := plain[min(int(off), size):min(int(off)+n, size)]
				if !bytes.Equal(p[:got], want) || (got < n) != (err == io.EOF) || err != nil && err != io.EOF {
					t.Fatalf("ReadAt(%d bytes, %d) = %d, %v; want %d", n, off, got, err, len(want))
				}
			}
			// Chunks in reverse order, each on its own goroutine.
			out := make([]byte, size)
			errs := make(chan error, ra.NumChunks())
			for i := ra.NumChunks() - 1; i >= 0; i-- {
				go func() {
					buf := make([]byte, encChunk)
					p, err := ra.ReadChunk(buf, i)
					copy(out[i*ChunkSize:], p)
					errs <- err
				}()
			}
			for range ra.NumChunks() {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(out, plain) {
				t.Error("chunks read out of order differ from the stream")
			}
		})
	}
}

func TestReadChunkArguments(t *testing.T) {
	sealed := sealBytes(t, testKey(1), testHeader, testSalt(3), []byte("x"))
	ra, err := OpenReaderAt(bytes.NewReader(sealed), int64(len(sealed)), testKey(1))
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int64{-1, 1} {
		if _, err := ra.ReadChunk(make([]byte, encChunk), i); !errors.Is(errors.Invalid, err) {
			t.Errorf("ReadChunk(%d): %v, want kind Invalid", i, err)
		}
	}
	if _, err := ra.ReadChunk(make([]byte, 10), 0); !errors.Is(errors.Invalid, err) {
		t.Errorf("ReadChunk with a short buffer: %v, want kind Invalid", err)
	}
	if _, err := ra.ReadAt(make([]byte, 1), -1); !errors.Is(errors.Invalid, err) {
		t.Errorf("ReadAt at -1: %v, want kind Invalid", err)
	}
}

// TestParallel checks that Seal writes what NewWriter writes, for any number
// of workers, and that Unseal reads it back.
func TestParallel(t *testing.T) {
	key := testKey(1)
	ctx := context.Background()
	// And the edges of a pipeline job's batch of chunks.
	sizes := append(roundTripSizes, batchChunks*ChunkSize, batchChunks*ChunkSize+1, 2*batchChunks*ChunkSize-1)
	for _, size := range sizes {
		plain := plaintext(uint64(size), size)
		serial := sealBytes(t, key, testHeader, testSalt(5), plain)
		for _, workers := range []int{1, 2, 7} {
			t.Run(fmt.Sprintf("%d/workers=%d", size, workers), func(t *testing.T) {
				var par bytes.Buffer
				n, err := seal(ctx, &par, iotest.HalfReader(bytes.NewReader(plain)), key, testHeader, testSalt(5), workers)
				if err != nil || n != int64(par.Len()) {
					t.Fatalf("seal: %d, %v; wrote %d", n, err, par.Len())
				}
				if !bytes.Equal(par.Bytes(), serial) {
					t.Fatal("parallel sealing differs from serial")
				}
				var out bytes.Buffer
				h, n, err := Unseal(ctx, &out, iotest.OneByteReader(bytes.NewReader(serial)), key, workers)
				if err != nil || n != int64(size) || *h != testHeader {
					t.Fatalf("Unseal: %d, %v, %+v", n, err, h)
				}
				if !bytes.Equal(out.Bytes(), plain) {
					t.Fatal("parallel unsealing differs from the plaintext")
				}
			})
		}
	}
}

func TestParallelErrors(t *testing.T) {
	key := testKey(1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Seal(ctx, io.Discard, bytes.NewReader(make([]byte, 1<<20)), key, testHeader, 2)
	if !errors.IsErr(err, context.Canceled) {
		t.Errorf("Seal with a canceled context: %v", err)
	}
	boom := errors.New("boom")
	_, err = Seal(context.Background(), io.Discard, iotest.ErrReader(boom), key, testHeader, 2)
	if !errors.IsErr(err, boom) {
		t.Errorf("Seal from a failing reader: %v, want boom", err)
	}
	sealed := sealBytes(t, key, testHeader, testSalt(5), make([]byte, 1<<20))
	_, _, err = Unseal(context.Background(), errWriter{boom}, bytes.NewReader(sealed), key, 2)
	if !errors.IsErr(err, boom) {
		t.Errorf("Unseal to a failing writer: %v, want boom", err)
	}
}

type errWriter struct{ err error }

func (w errWriter) Write([]byte) (int, error) { return 0, w.err }
