package sqlstore

import (
	"context"

	"imgward"
)

// Writes sent with the commit.
//
// A round trip to PostgreSQL costs the node and the server more processor
// time than most statements of a launch do: each is a write and a read of a
// socket and a wake-up on both sides. A write whose caller needs nothing of
// it but its error (an INSERT of a row of the transaction's own: an
// instance, an audit entry) can wait and travel with a later message. Under
// RunOnLater such a write is queued (execLater) instead of run; the next
// statement that needs an answer runs the queue first, so the transaction
// still reads its own writes; what is queued at the end the backend sends
// with its COMMIT, in one round trip. A queued write that fails fails the
// transaction all the same, only later: the statement that ran the queue,
// or the commit, reports the write's own error, and the transaction is
// rolled back, as if the write had failed at once.

// Stmt is a write that a transaction queued for the backend to send before
// its COMMIT, in one round trip. Op names it in errors (Dialect.Wrap).
type Stmt struct {
	Op    string
	Query string
	Args  []any
}

// RunOnLater runs fn on q as RunOn does, but queues the writes of fn that
// can wait (see above) and returns those still queued at the end, which the
// caller must send, in order, before its COMMIT, and fail the transaction
// if one fails. If fn fails, the queue is dropped with the transaction.
func RunOnLater(ctx context.Context, q Querier, d *Dialect, auditSeq int64, fn func(imgward.Tx) error) ([]Stmt, error) {
	t := &tx{q: q, d: d, auditSeq: auditSeq, pipe: true}
	err := fn(t)
	if t.failed != nil {
		// A queued write failed when a later statement ran the queue:
		// its error, not the one of the statement that followed in an
		// aborted transaction, is the cause.
		return nil, t.failed
	}
	if err != nil {
		return nil, err
	}
	return t.later, nil
}

// Wrap translates err, of the statement op, into an *errors.Error of the
// right kind, for a backend that runs a queued Stmt itself.
func (d *Dialect) Wrap(op string, err error) error { return d.wrap(op, err) }

// execLater runs a write whose caller needs nothing of it but its error,
// or, under RunOnLater, queues it.
func (t *tx) execLater(ctx context.Context, op, query string, args ...any) error {
	if !t.pipe {
		return t.exec(ctx, op, query, args...)
	}
	t.later = append(t.later, Stmt{Op: op, Query: query, Args: args})
	return nil
}

// flush runs the queued writes, before a statement that needs an answer.
// After a failure the transaction is aborted: every later statement fails,
// and RunOnLater reports this first error.
func (t *tx) flush(ctx context.Context) error {
	if !t.pipe {
		return nil
	}
	if t.failed != nil {
		return t.failed
	}
	for len(t.later) > 0 {
		s := t.later[0]
		t.later = t.later[1:]
		if _, err := t.q.ExecContext(ctx, s.Query, s.Args...); err != nil {
			t.failed, t.later = t.d.wrap(s.Op, err), nil
			return t.failed
		}
	}
	return nil
}
