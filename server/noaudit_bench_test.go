package server_test

import (
	"context"
	"testing"

	"imgward"
	"imgward/server"
)

// noAudit is the name under which the benchmarks register a SQLite store
// that drops every audit entry, to measure what the audit costs a launch.
// It exists only in this package's benchmarks: the service never runs
// without its audit.
const noAudit = "sqlite-noaudit"

// registerNoAudit adds the noAudit store until b ends.
func registerNoAudit(b *testing.B) {
	open := server.Stores["sqlite"]
	server.Stores[noAudit] = func(ctx context.Context, cfg server.Config) (imgward.Store, error) {
		st, err := open(ctx, cfg)
		if err != nil {
			return nil, err
		}
		return noAuditStore{st}, nil
	}
	b.Cleanup(func() { delete(server.Stores, noAudit) })
}

// noAuditStore passes every transaction a Tx whose AppendAudit does nothing,
// so that nothing is appended and the background integration finds nothing.
type noAuditStore struct{ imgward.Store }

func (s noAuditStore) View(ctx context.Context, fn func(imgward.Tx) error) error {
	return s.Store.View(ctx, func(tx imgward.Tx) error { return fn(noAuditTx{tx}) })
}

func (s noAuditStore) Update(ctx context.Context, fn func(imgward.Tx) error) error {
	return s.Store.Update(ctx, func(tx imgward.Tx) error { return fn(noAuditTx{tx}) })
}

type noAuditTx struct{ imgward.Tx }

func (noAuditTx) AppendAudit(context.Context, *imgward.AuditEntry) error { return nil }
