package broker

import (
	"context"
	"sync"
	"time"

	"imgward"
	"imgward/errors"
	"imgward/identity"
)

// Nonces is an identity.NonceStore over the Store, so that a document is
// redeemed once across every node sharing the database. The broker spends
// nonces inside its own transaction instead, to commit the nonce and the
// audit entry together; Nonces serves other redeemers.
type Nonces struct {
	Store imgward.Store
	Now   func() time.Time // nil: time.Now
}

var _ identity.NonceStore = (*Nonces)(nil)

// Use implements identity.NonceStore.
func (n *Nonces) Use(ctx context.Context, nonce string, expiresAt time.Time) error {
	now := time.Now
	if n.Now != nil {
		now = n.Now
	}
	err := imgward.UpdateHot(ctx, n.Store, func(tx imgward.Tx) error { return tx.UseNonce(ctx, nonce, expiresAt, now()) })
	if err != nil {
		return errors.E("broker.Nonces.Use", err)
	}
	return nil
}

// spentNonces remembers the nonces this broker saw spent, until they
// expire, so that a replayed document is refused before prepare costs a
// KMS unwrap. It is only an economy: the store, which every node shares,
// decides whether a nonce was used. A nonce spent by another node costs
// this one unwrap the first time it is replayed here, and one forgotten
// when the set is full costs one more.
type spentNonces struct {
	mu sync.Mutex
	m  map[string]time.Time // nonce → when it may be forgotten
}

// maxSpent bounds the memory: about 100 bytes a nonce.
const maxSpent = 1 << 16

// has reports whether nonce was seen spent and has not expired at now.
func (s *spentNonces) has(nonce string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	until, ok := s.m[nonce]
	return ok && now.Before(until)
}

// add records nonce as spent until until. When the set is full, the
// expired nonces go first, then all: forgetting one only costs an unwrap.
func (s *spentNonces) add(nonce string, until, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = make(map[string]time.Time)
	}
	if len(s.m) >= maxSpent {
		for n, u := range s.m {
			if !now.Before(u) {
				delete(s.m, n)
			}
		}
		if len(s.m) >= maxSpent {
			clear(s.m)
		}
	}
	s.m[nonce] = until
}
