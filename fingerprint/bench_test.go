package fingerprint

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"testing"
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
	b.SetBytes(benchSize)
	for b.Loop() {
		if _, err := FromReader(context.Background(), bytes.NewReader(in), Default); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFromTar measures a rootfs-like archive, file by file.
func BenchmarkFromTar(b *testing.B) {
	archive := tarOf(b, rootfs("bench", 400), 0)
	b.SetBytes(int64(len(archive)))
	for b.Loop() {
		if _, err := FromTar(context.Background(), bytes.NewReader(archive), Default); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSimilarity(b *testing.B) {
	x, _ := FromReader(context.Background(), bytes.NewReader(random("x", benchSize)), Default)
	y, _ := FromReader(context.Background(), bytes.NewReader(random("y", benchSize)), Default)
	for b.Loop() {
		Similarity(x, y)
	}
}
