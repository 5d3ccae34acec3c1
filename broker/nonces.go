package broker

import (
	"context"
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
	err := n.Store.Update(ctx, func(tx imgward.Tx) error { return tx.UseNonce(ctx, nonce, expiresAt, now()) })
	if err != nil {
		return errors.E("broker.Nonces.Use", err)
	}
	return nil
}
