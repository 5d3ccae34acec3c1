package identity

import (
	"crypto/sha256"
	"sync"
	"time"
)

// signedCache remembers the documents this process signed, by the SHA-256
// of the exact compact token, with the key that signed each: a
// byte-identical copy of a token we signed carries a signature that
// verifies under that key, so checking it again (the Ed25519 arithmetic,
// about 50 µs, a quarter of a key release) tells nothing new. Only the
// signature check is skipped on a hit: the header checks, the document's
// decoding and checks, its validity times and the nonce's one use are done
// as for any token, and the key must still be in the ring that verifies
// (a retired key's documents are refused, cached or not). Anything else,
// a token one byte different or one another node signed, misses and goes
// the signature path, so that no answer depends on the cache
// (FuzzSignedCache). The digest is of public data (the token), so the map
// lookup leaks nothing a holder of the token does not know.
//
// Memory is bounded: at most max entries, evicted oldest first (issue
// order), those whose documents have expired dropped as new ones come, and
// an entry dropped once its nonce is spent (Issuer.Redeemed).
type signedCache struct {
	max   int
	mu    sync.Mutex
	m     map[[sha256.Size]byte]*key
	order []signedSlot // a ring in issue order, oldest at head
	head  int
	n     int // slots of order in use
}

// signedSlot is a token's place in the issue order.
type signedSlot struct {
	sum [sha256.Size]byte
	exp int64 // Unix seconds after which the document is refused anyway
}

// maxSigned bounds the cache: 32 s of launches at 4,000/s (2 minutes at
// 1,000/s), in about 17 MiB when full (TestSignedCacheMemory measures
// 135 bytes an entry: the map's slot and the ring's). A host asks for an
// image's key while its instance boots, seconds after the launch; a later
// release misses and is verified by signature, as on another node. The
// whole validity window (15 minutes at 4,000 launches a second) would be
// 3.6 million entries, about 470 MiB, for documents nobody presents any
// more.
const maxSigned = 1 << 17

func newSignedCache(max int) *signedCache {
	return &signedCache{max: max, m: make(map[[sha256.Size]byte]*key)}
}

// add records token, signed by k, whose document is refused after exp
// (its ExpiresAt and ClockSkew), at now.
func (c *signedCache) add(token string, k *key, exp, now time.Time) {
	slot := signedSlot{sum: sha256.Sum256([]byte(token)), exp: exp.Unix()}
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.n > 0 && (c.n >= c.max || c.order[c.head].exp <= now.Unix()) {
		c.pop()
	}
	if c.n == len(c.order) {
		c.grow()
	}
	c.order[(c.head+c.n)%len(c.order)] = slot
	c.n++
	c.m[slot.sum] = k
}

// pop drops the oldest entry, if its token was not redeemed already.
func (c *signedCache) pop() {
	delete(c.m, c.order[c.head].sum)
	c.head = (c.head + 1) % len(c.order)
	c.n--
}

// grow makes room for one more slot, doubling the ring up to max, so that
// an issuer that signs little holds little.
func (c *signedCache) grow() {
	size := min(max(2*len(c.order), 64), c.max)
	order := make([]signedSlot, size)
	for j := range c.n {
		order[j] = c.order[(c.head+j)%len(c.order)]
	}
	c.order, c.head = order, 0
}

// signer returns the key that signed a token byte-identical to token in
// this process, or nil.
func (c *signedCache) signer(token string) *key {
	sum := sha256.Sum256([]byte(token))
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[sum]
}

// forget drops token's entry: its nonce is spent.
func (c *signedCache) forget(token string) {
	sum := sha256.Sum256([]byte(token))
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, sum)
}
