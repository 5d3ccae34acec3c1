package server_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// TestByteSplit is issue 11 §3's attack with the plainest tool: a member
// cuts a protected image's plaintext with head and tail, through file
// headers and file contents, and uploads the pieces as images of their
// own (malformed tars, or pieces of a raw disk, some gzipped). Every piece
// is flagged as derived from the protected image and cannot be shared;
// pieces of unrelated content cut the same way, by the same member, are
// not flagged.
func TestByteSplit(t *testing.T) { byteSplit(t, newCloud(t)) }

// TestByteSplitPostgres is the attack on the store of several nodes.
func TestByteSplitPostgres(t *testing.T) { byteSplit(t, newPostgresCloud(t)) }

func byteSplit(t *testing.T, c *cloud) {
	_, aliceTok := c.tenant("alice")
	bob, bobTok := c.tenant("bob")
	x := c.image(aliceTok, map[string]any{"imgward_protect": "full"}, tarOf(t, rootfs(11, 200), time.Now()))
	d := c.image(aliceTok, map[string]any{"imgward_protect": "full"}, rawDisk(12, 6<<20))
	c.share(aliceTok, x, bob, bobTok)
	c.share(aliceTok, d, bob, bobTok)
	plainX, plainD := fetchPlain(t, c, x, bobTok), fetchPlain(t, c, d, bobTok)
	unrelX, unrelD := tarOf(t, rootfs(13, 200), time.Now()), rawDisk(14, 6<<20)

	cases := []struct {
		name        string
		orig        string // the protected image
		plain, unrl []byte // its plaintext, and unrelated content of its shape
		cuts        []float64
		gz          bool
	}{
		{"tar halves", x, plainX, unrelX, []float64{0.5}, false},
		{"tar in three at odd offsets", x, plainX, unrelX, []float64{0.31, 0.67}, false},
		{"gzipped tar halves", x, plainX, unrelX, []float64{0.47}, true},
		{"raw disk halves", d, plainD, unrelD, []float64{0.53}, false},
	}
	for i, tc := range cases {
		// A member of its own for each case, so that its pieces are
		// weighed only with each other.
		thief, tok := c.tenant(fmt.Sprint("thief", i))
		ids := c.pieces(tok, cut(tc.plain, tc.cuts, tc.gz))
		wantDerived(t, c, tc.orig, thief, tc.name, ids, tok)
		wantUnflagged(t, c, c.pieces(tok, cut(tc.unrl, tc.cuts, tc.gz)))
	}
}

// pieces uploads each of ps as a private image and returns their ids.
func (c *cloud) pieces(tok string, ps [][]byte) []string {
	c.t.Helper()
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = c.image(tok, map[string]any{"visibility": "private"}, p)
	}
	return ids
}

// cut cuts b at the given fractions of its length, plus an odd number of
// bytes so that no cut falls on a tar block, and gzips each piece if gz.
func cut(b []byte, at []float64, gz bool) [][]byte {
	var out [][]byte
	from := 0
	for _, f := range append(at, 1) {
		to := min(len(b), int(f*float64(len(b)))+101)
		p := b[from:to]
		if gz {
			var z bytes.Buffer
			zw := gzip.NewWriter(&z)
			zw.Write(p)
			zw.Close()
			p = z.Bytes()
		}
		out = append(out, p)
		from = to
	}
	return out
}

// rawDisk returns a raw disk image of size bytes, not a tar: 4 KiB blocks
// of data between runs of zeros, as a filesystem leaves them.
func rawDisk(seed uint64, size int) []byte {
	rng := rand.New(rand.NewPCG(seed, 2))
	d := make([]byte, size)
	for off := 0; off < size; {
		n := (1 + rng.IntN(64)) << 12
		if rng.IntN(4) > 0 {
			for j := off; j < min(size, off+n); j++ {
				d[j] = byte(rng.Uint32())
			}
		}
		off += n + rng.IntN(16)<<12
	}
	return d
}
