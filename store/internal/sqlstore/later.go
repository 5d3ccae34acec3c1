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

// Beginner begins a transaction that RunOnLater runs, when its first
// statement needs the server: the begin (BEGIN, the write lock, the audit
// log's next sequence number) then travels with that statement, if it is a
// read of one row, in one round trip. The begin still runs first, so the
// statement runs under the lock and sees every commit before it.
type Beginner interface {
	// Begin begins the transaction alone and returns the audit log's next
	// sequence number, or 0 if the begin takes none.
	Begin(ctx context.Context) (auditSeq int64, err error)
	// BeginRow begins the transaction and runs query, a read of at most
	// one row, after it in the same round trip, scanning the row into
	// dest. err is the begin's failure, after which the transaction
	// holds nothing (and nothing more may run in it); scanErr is the
	// query's, as (*sql.Row).Scan reports it.
	BeginRow(ctx context.Context, query string, args, dest []any) (auditSeq int64, err, scanErr error)
}

// RunOnLater runs fn on q as RunOn does, with the transaction begun by b
// at its first statement, and queues the writes of fn that can wait (see
// above). It returns those still queued at the end, which the caller must
// send, in order, before its COMMIT (after b's begin, if fn ran no
// statement), and fail the transaction if one fails. If fn fails, the
// queue is dropped with the transaction.
func RunOnLater(ctx context.Context, q Querier, d *Dialect, b Beginner, fn func(imgward.Tx) error) ([]Stmt, error) {
	t := &tx{q: q, d: d, begin: b, pipe: true}
	err := fn(t)
	if t.beginErr != nil {
		// Nothing ran after a failed begin: its error is the cause.
		return nil, t.beginErr
	}
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

// begun begins the transaction, if a Beginner has yet to: before a
// statement that cannot travel with the begin. After a failed begin every
// statement fails with its error, so that none runs outside the
// transaction and its lock.
func (t *tx) begun(ctx context.Context) error {
	if t.beginErr != nil {
		return t.beginErr
	}
	if t.begin == nil {
		return nil
	}
	return t.began(t.begin.Begin(ctx))
}

// began records the outcome of the begin: the audit sequence number it
// took, or its failure.
func (t *tx) began(seq int64, err error) error {
	t.begin = nil
	if err != nil {
		t.beginErr = err
		return err
	}
	t.auditSeq = seq
	return nil
}

// firstRow is a transaction's first statement, a read of one row, that
// goes with the begin (Beginner.BeginRow) when it is scanned.
type firstRow struct {
	t     *tx
	ctx   context.Context
	query string
	args  []any
}

func (r *firstRow) Scan(dest ...any) error {
	t := r.t
	if t.begin == nil {
		// Begun meanwhile (a statement ran before this row's Scan).
		return t.queryRow(r.ctx, r.query, r.args...).Scan(dest...)
	}
	seq, err, scanErr := t.begin.BeginRow(r.ctx, r.query, r.args, dest)
	if err := t.began(seq, err); err != nil {
		return err
	}
	return scanErr
}

// errRow is a row whose statement could not run.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

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
	if err := t.begun(ctx); err != nil {
		return err
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
