package identity

import (
	"container/heap"
	"context"
	"sync"
	"time"

	"imgward/errors"
)

// NonceStore remembers the nonces of redeemed documents until they expire.
type NonceStore interface {
	// Use records nonce as used until expiresAt. It returns an error of kind
	// Conflict if nonce is already recorded and has not expired.
	Use(ctx context.Context, nonce string, expiresAt time.Time) error
}

// DefaultMaxNonces bounds a MemNonceStore.
const DefaultMaxNonces = 1 << 20

// MemNonceStore is a NonceStore in memory, for one process. Expired nonces
// are dropped as new ones arrive. When it holds its limit of unexpired nonces it
// refuses more (Unavailable) rather than forget one early, which would
// allow a replay.
type MemNonceStore struct {
	mu    sync.Mutex
	max   int
	now   func() time.Time
	seen  map[string]time.Time // nonce -> expiry
	queue expiryQueue          // the same nonces, soonest expiry first
}

var _ NonceStore = (*MemNonceStore)(nil)

// NewMemNonceStore returns an empty store of at most limit nonces, or of
// DefaultMaxNonces when limit is 0.
func NewMemNonceStore(limit int) *MemNonceStore {
	if limit <= 0 {
		limit = DefaultMaxNonces
	}
	return &MemNonceStore{max: limit, now: time.Now, seen: make(map[string]time.Time)}
}

// Use implements NonceStore.
func (s *MemNonceStore) Use(ctx context.Context, nonce string, expiresAt time.Time) error {
	const op = "identity.MemNonceStore.Use"
	if err := ctx.Err(); err != nil {
		return errors.E(op, errors.Unavailable, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for len(s.queue) > 0 && !s.queue[0].expires.After(now) {
		delete(s.seen, heap.Pop(&s.queue).(entry).nonce)
	}
	if _, ok := s.seen[nonce]; ok {
		return errors.E(op, errors.Conflict, errors.Msg("nonce already used"))
	}
	if len(s.seen) >= s.max {
		return errors.E(op, errors.Unavailable, errors.Msg("too many nonces in use"))
	}
	s.seen[nonce] = expiresAt
	heap.Push(&s.queue, entry{nonce, expiresAt})
	return nil
}

// Len returns the number of nonces held.
func (s *MemNonceStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen)
}

type entry struct {
	nonce   string
	expires time.Time
}

// expiryQueue is a min-heap of entries by expiry.
type expiryQueue []entry

func (q expiryQueue) Len() int           { return len(q) }
func (q expiryQueue) Less(i, j int) bool { return q[i].expires.Before(q[j].expires) }
func (q expiryQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *expiryQueue) Push(x any)        { *q = append(*q, x.(entry)) }
func (q *expiryQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}
