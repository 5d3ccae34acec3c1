package keystone

import (
	"container/list"
	"crypto/sha256"
	"sync"
	"time"
)

// cache holds the answers of Keystone by token, least recently used first
// out, each until its expiry. It keys by the token's SHA-256, so that the
// tokens themselves do not stay in memory, and it is bounded: a flood of
// invented tokens evicts old entries but cannot grow it.
type cache struct {
	mu    sync.Mutex
	max   int
	order *list.List // of *entry, most recent at the front
	byKey map[[32]byte]*list.Element
}

type entry struct {
	key     [32]byte
	id      *Identity // nil: the token was rejected
	expires time.Time
}

func newCache(max int) *cache {
	return &cache{max: max, order: list.New(), byKey: make(map[[32]byte]*list.Element, max)}
}

// get returns the cached answer for token: hit is false when there is none
// (or it has expired), ok false when the token was rejected.
func (c *cache) get(token string, now time.Time) (id *Identity, ok, hit bool) {
	k := sha256.Sum256([]byte(token))
	c.mu.Lock()
	defer c.mu.Unlock()
	el, found := c.byKey[k]
	if !found {
		return nil, false, false
	}
	e := el.Value.(*entry)
	if !now.Before(e.expires) {
		c.order.Remove(el)
		delete(c.byKey, k)
		return nil, false, false
	}
	c.order.MoveToFront(el)
	return e.id, e.id != nil, true
}

// put caches the answer for token until expires.
func (c *cache) put(token string, id *Identity, expires time.Time) {
	k := sha256.Sum256([]byte(token))
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, found := c.byKey[k]; found {
		e := el.Value.(*entry)
		e.id, e.expires = id, expires
		c.order.MoveToFront(el)
		return
	}
	for c.order.Len() >= c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byKey, last.Value.(*entry).key)
	}
	c.byKey[k] = c.order.PushFront(&entry{key: k, id: id, expires: expires})
}

// len returns the number of entries, expired ones included.
func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
