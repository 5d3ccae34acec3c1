package postgres

import (
	"context"
	"database/sql"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"imgward"
	"imgward/errors"
	"imgward/store/internal/sqlstore"
)

// A write transaction is one round trip for each of its reads and one for
// its commit: its begin (BEGIN, the write lock) goes with its first read of
// one row (sqlstore.Beginner; a launch's image), or alone if the first
// statement is another, or with the commit if there is none; the commit
// carries the writes that the transaction queued (sqlstore.RunOnLater: a
// launch's instance and audit entry). Each goes as one pgx batch (several
// statements, one Sync, one round trip) of statements that pgx prepares
// once per connection, so the server neither parses nor plans them again.
// A round trip costs the node and the server more processor time than most
// statements of a launch (docs/BENCHMARKS.md).
//
// The begin: READ COMMITTED explicit (see the package comment), so that a
// server whose default_transaction_isolation is stricter cannot break the
// lock; then the lock, and for a hot write the audit log's next sequence
// number, which most hot writes use (one that does not leaves a gap, as a
// rolled back append does). The statements of a batch run one after the
// other, so the read that goes with the begin runs once the lock is held,
// and (READ COMMITTED) sees every commit before it, as when it went alone.
const (
	beginSQL   = `BEGIN ISOLATION LEVEL READ COMMITTED`
	lockCold   = `SELECT pg_advisory_xact_lock($1)`
	lockHotSeq = `SELECT nextval('audit_log_seq') FROM (SELECT pg_advisory_xact_lock_shared($1)) AS l`
)

// write runs fn in a write transaction on a connection of its own.
// database/sql knows nothing of the transaction; write ends it on every
// path, and a connection returned to the pool inside one would be discarded
// by pgx (stdlib.Conn.ResetSession) rather than reused.
func (s *Store) write(ctx context.Context, hot bool, fn func(imgward.Tx) error) (err error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return errors.E("postgres.Begin", kind(err), err)
	}
	defer conn.Close()
	o := &opener{conn: conn, hot: hot}
	committed := false
	defer func() {
		if !committed && o.sent {
			// Also after a panic of fn. Not with ctx: a cancelled caller
			// must still end the transaction; bounded, for a server gone.
			rctx, cancel := context.WithTimeout(context.Background(), rollbackTimeout)
			defer cancel()
			if _, rerr := simple(rctx, conn, "ROLLBACK"); rerr != nil && err == nil {
				err = errors.E("postgres.Rollback", kind(rerr), rerr)
			}
		}
	}()
	later, err := sqlstore.RunOnLater(ctx, conn, &dialect, o, fn)
	if err != nil {
		return err
	}
	tag, err := o.commit(ctx, later)
	committed = err == nil
	if err != nil {
		return err
	}
	// A transaction that a statement aborted (an error fn ignored)
	// "commits" as a rollback: that is a failure, not a success.
	if tag != "COMMIT" {
		return errors.E("postgres.Commit", errors.Conflict, errors.Errorf("transaction ended in %s", tag))
	}
	return nil
}

// opener begins a write transaction on conn when its first statement
// needs the server (sqlstore.Beginner), with the write lock exclusive or
// (hot) shared; a hot write also gets the audit log's next sequence number.
type opener struct {
	conn *sql.Conn
	hot  bool
	// sent: the begin went to the server, so the transaction must end.
	sent bool
}

// queue queues the begin's statements in b.
func (o *opener) queue(b *pgx.Batch) {
	b.Queue(beginSQL)
	if o.hot {
		b.Queue(lockHotSeq, writeLockKey)
	} else {
		b.Queue(lockCold, writeLockKey)
	}
	o.sent = true
}

// read reads the begin's results from br.
func (o *opener) read(br pgx.BatchResults) (seq int64, err error) {
	if _, err = br.Exec(); err == nil {
		if o.hot {
			err = br.QueryRow().Scan(&seq)
		} else {
			_, err = br.Exec()
		}
	}
	if err != nil {
		return 0, errors.E("postgres.Begin", kind(err), err)
	}
	return seq, nil
}

// Begin begins the transaction alone, in one round trip.
func (o *opener) Begin(ctx context.Context) (seq int64, err error) {
	seq, err, _ = o.BeginRow(ctx, "", nil, nil)
	return seq, err
}

// BeginRow begins the transaction and, unless query is "", reads a row of
// query into dest, in one round trip.
func (o *opener) BeginRow(ctx context.Context, query string, args, dest []any) (seq int64, err, scanErr error) {
	rerr := o.conn.Raw(func(dc any) error {
		b := &pgx.Batch{}
		o.queue(b)
		if query != "" {
			b.Queue(query, args...)
		}
		br := dc.(*stdlib.Conn).Conn().SendBatch(ctx, b)
		defer br.Close()
		if seq, err = o.read(br); err != nil {
			return nil
		}
		if query != "" {
			scanErr = br.QueryRow().Scan(dest...)
		}
		if cerr := br.Close(); cerr != nil && scanErr == nil {
			scanErr = cerr
		}
		return nil
	})
	if rerr != nil && err == nil {
		err = errors.E("postgres.Begin", kind(rerr), rerr)
	}
	return seq, err, scanErr
}

// commit sends the writes that the transaction queued and its COMMIT in
// one round trip, after the begin if no statement has sent it: one Sync
// after them all, so that when a write fails the server skips the rest,
// COMMIT included, and the caller rolls back. It returns COMMIT's command
// tag.
func (o *opener) commit(ctx context.Context, later []sqlstore.Stmt) (tag string, err error) {
	err = o.conn.Raw(func(dc any) error {
		b := &pgx.Batch{}
		begin := !o.sent
		if begin {
			o.queue(b)
		}
		for _, st := range later {
			b.Queue(st.Query, st.Args...)
		}
		b.Queue("COMMIT")
		br := dc.(*stdlib.Conn).Conn().SendBatch(ctx, b)
		defer br.Close()
		if begin {
			if _, err := o.read(br); err != nil {
				return err
			}
		}
		for _, st := range later {
			if _, err := br.Exec(); err != nil {
				return dialect.Wrap(st.Op, err)
			}
		}
		ct, err := br.Exec()
		if err != nil {
			return errors.E("postgres.Commit", kind(err), err)
		}
		tag = ct.String()
		if err := br.Close(); err != nil {
			return errors.E("postgres.Commit", kind(err), err)
		}
		return nil
	})
	return tag, err
}

// rollbackTimeout bounds a rollback. A connection whose rollback did not
// answer is broken, and pgx closes it.
const rollbackTimeout = 10 * time.Second

// simple sends query, one or more statements without parameters, in one
// simple-protocol round trip and returns the results of all.
func simple(ctx context.Context, conn *sql.Conn, query string) (res []*pgconn.Result, err error) {
	err = conn.Raw(func(dc any) error {
		res, err = dc.(*stdlib.Conn).Conn().PgConn().Exec(ctx, query).ReadAll()
		if err == nil {
			for _, r := range res {
				if err = r.Err; err != nil {
					break
				}
			}
		}
		return err
	})
	return res, err
}
