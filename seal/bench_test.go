package seal

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"io"
	"runtime"
	"testing"
	"time"

	"imgward/internal/cputime"
)

const benchSize = 16 << 20

// cpuLoop runs body b.N times on one locked OS thread, as b.Loop does, and
// reports MB per second of that thread's processor time beside the wall
// clock's MB/s: on a shared machine the wall clock follows the load, the
// thread's processor time follows the code. For the single-stream
// benchmarks only: other goroutines' work (a pipeline's workers) is not
// counted.
func cpuLoop(b *testing.B, body func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.SetBytes(benchSize)
	t0 := threadCPU(b)
	for b.Loop() {
		body()
	}
	cpu := threadCPU(b) - t0
	b.ReportMetric(float64(b.N)*benchSize/1e6/cpu.Seconds(), "MB/cpu-s")
}

// threadCPU is the processor time (user and system) of the calling thread.
func threadCPU(b *testing.B) time.Duration {
	d, err := cputime.Thread()
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// BenchmarkRawAESGCM is the baseline: AES-256-GCM over the same bytes in
// 64 KiB chunks, with no format, no copies and no I/O; seal for Seal, open
// for Unseal.
func BenchmarkRawAESGCM(b *testing.B) {
	plain := plaintext(1, benchSize)
	block, _ := aes.NewCipher(testKey(1))
	aead, _ := cipher.NewGCM(block)
	var n [nonceLen]byte
	sealed := make([][]byte, 0, benchSize/ChunkSize)
	for i := 0; i < len(plain); i += ChunkSize {
		sealed = append(sealed, aead.Seal(nil, n[:], plain[i:i+ChunkSize], nil))
	}
	b.Run("seal", func(b *testing.B) {
		dst := make([]byte, encChunk)
		cpuLoop(b, func() {
			for i := 0; i < len(plain); i += ChunkSize {
				dst = aead.Seal(dst[:0], n[:], plain[i:i+ChunkSize], nil)
			}
		})
	})
	b.Run("open", func(b *testing.B) {
		dst := make([]byte, ChunkSize)
		cpuLoop(b, func() {
			for _, c := range sealed {
				dst, _ = aead.Open(dst[:0], n[:], c, nil)
			}
		})
	})
	// read+open is the floor of any decryptor that reads a stream: each
	// chunk is copied out of an io.Reader before it is opened, in place,
	// as Unseal must; open decrypts straight from memory.
	b.Run("read+open", func(b *testing.B) {
		all := bytes.Join(sealed, nil)
		buf := make([]byte, encChunk)
		cpuLoop(b, func() {
			r := bytes.NewReader(all)
			for range sealed {
				if _, err := io.ReadFull(r, buf); err != nil {
					b.Fatal(err)
				}
				if _, err := aead.Open(buf[:0], n[:], buf, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

func BenchmarkSeal(b *testing.B) {
	for _, bc := range []struct {
		name  string
		write int
	}{{"write=1MiB", 1 << 20}, {"write=32KiB", 32 << 10}} {
		b.Run(bc.name, func(b *testing.B) {
			plain := plaintext(1, benchSize)
			cpuLoop(b, func() {
				w, err := NewWriter(io.Discard, testKey(1), testHeader)
				if err != nil {
					b.Fatal(err)
				}
				for p := plain; len(p) > 0; p = p[bc.write:] {
					w.Write(p[:bc.write])
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// BenchmarkUnseal opens one stream on one goroutine through Reader.WriteTo
// (io.Copy), as the download paths do. from=memory hands the sealed bytes
// over without a copy (a bytes.Reader's WriteTo), so each chunk is opened
// straight from them, against RawAESGCM/open; from=reader reads them
// through a plain io.Reader, as from a file or a socket, which copies each
// chunk into the Reader's buffer first, against RawAESGCM/read+open.
func BenchmarkUnseal(b *testing.B) {
	sealed := sealBytes(b, testKey(1), testHeader, testSalt(1), plaintext(1, benchSize))
	for _, bc := range []struct {
		name string
		src  func() io.Reader
	}{
		{"from=memory", func() io.Reader { return bytes.NewReader(sealed) }},
		{"from=reader", func() io.Reader { return struct{ io.Reader }{bytes.NewReader(sealed)} }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cpuLoop(b, func() {
				_, r, err := NewReader(bc.src(), testKey(1))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, r); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// BenchmarkSealParallel and BenchmarkUnsealParallel use all processors.
func BenchmarkSealParallel(b *testing.B) {
	plain := plaintext(1, benchSize)
	b.SetBytes(benchSize)
	for b.Loop() {
		if _, err := Seal(context.Background(), io.Discard, bytes.NewReader(plain), testKey(1), testHeader, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnsealParallel(b *testing.B) {
	sealed := sealBytes(b, testKey(1), testHeader, testSalt(1), plaintext(1, benchSize))
	b.SetBytes(benchSize)
	for b.Loop() {
		if _, _, err := Unseal(context.Background(), io.Discard, bytes.NewReader(sealed), testKey(1), 0); err != nil {
			b.Fatal(err)
		}
	}
}
