package fingerprint

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"syscall"
	"testing"
	"time"
)

const benchSize = 16 << 20

// BenchmarkChunker measures finding cut points alone.
func BenchmarkChunker(b *testing.B) {
	in := random("bench", benchSize)
	b.SetBytes(benchSize)
	for b.Loop() {
		c, _ := NewChunker(bytes.NewReader(in), Default)
		for {
			if _, err := c.Next(); err == io.EOF {
				break
			}
		}
	}
}

// BenchmarkSHA256 is the cost of hashing alone, for comparison.
func BenchmarkSHA256(b *testing.B) {
	in := random("bench", benchSize)
	b.SetBytes(benchSize)
	for b.Loop() {
		sha256.Sum256(in)
	}
}

// BenchmarkFromReader measures chunking and hashing a stream.
func BenchmarkFromReader(b *testing.B) {
	in := random("bench", benchSize)
	loopCPU(b, len(in), func() error {
		_, err := FromReader(context.Background(), bytes.NewReader(in), Default)
		return err
	})
}

// BenchmarkFromTar measures a rootfs-like archive, file by file.
func BenchmarkFromTar(b *testing.B) {
	archive := tarOf(b, rootfs("bench", 400), 0)
	loopCPU(b, len(archive), func() error {
		_, err := FromTar(context.Background(), bytes.NewReader(archive), Default)
		return err
	})
}

// BenchmarkFromContent measures what the catalog now runs on every
// upload, on the inputs of BenchmarkFromTar and BenchmarkFromReader, and
// on a piece of the archive cut through a file. MB/cpu-s counts the
// process's user and system time, which a shared machine's load moves
// less than wall time.
func BenchmarkFromContent(b *testing.B) {
	archive := tarOf(b, rootfs("bench", 400), 0)
	for _, c := range []struct {
		name string
		in   []byte
	}{
		{"tar", archive},
		{"raw", random("bench", benchSize)},
		{"tar-piece", archive[len(archive)/3+101:]},
		{"ustar-flood", bytes.Repeat([]byte("ustar"), benchSize/5)}, // the worst case of the header search
	} {
		b.Run(c.name, func(b *testing.B) {
			loopCPU(b, len(c.in), func() error {
				_, err := FromContent(context.Background(), bytes.NewReader(c.in), Default)
				return err
			})
		})
	}
}

// loopCPU runs op in b's loop over n bytes, and reports MB/cpu-s too.
func loopCPU(b *testing.B, n int, op func() error) {
	b.SetBytes(int64(n))
	cpu := cpuTime()
	for b.Loop() {
		if err := op(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*n)/1e6/(cpuTime()-cpu).Seconds(), "MB/cpu-s")
}

// cpuTime returns the process's user and system time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkSimilarity(b *testing.B) {
	x, _ := FromReader(context.Background(), bytes.NewReader(random("x", benchSize)), Default)
	y, _ := FromReader(context.Background(), bytes.NewReader(random("y", benchSize)), Default)
	for b.Loop() {
		Similarity(x, y)
	}
}
