// Package sqlstore is the SQL shared by imgward's database/sql backends,
// store/sqlite and store/postgres. It implements imgward.Tx once over a
// *sql.Tx; a Dialect carries the few things that differ: how a driver error is
// classified and how writers are serialized across processes.
//
// Queries use $1, $2... placeholders, which PostgreSQL requires and SQLite
// also accepts. Times are kept as BIGINT microseconds since the Unix epoch,
// UTC: portable, sortable, and the precision the audit hash covers.
package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	stderrors "errors"
	"net"
	"strconv"
	"strings"
	"time"

	"imgward"
	"imgward/errors"
)

// Dialect is what a backend tells the shared code about its database.
type Dialect struct {
	// Name prefixes the op of every error, as in "sqlite.CreateImage".
	Name string
	// Kind classifies a driver error that the shared code does not know:
	// constraint violations, lost connections, busy databases.
	Kind func(error) errors.Kind
	// WriteLock, if set, runs first in every write transaction, migrations
	// included, and holds until the transaction ends. It serializes writers
	// across processes, so that AppendAudit may read the head of the log and
	// append after it without another node slipping in between. SQLite
	// needs none: BEGIN IMMEDIATE on its one write connection does the same.
	WriteLock func(ctx context.Context, tx *sql.Tx) error
	// AuditSeq, if set, is the query that hands AppendAudit the next
	// sequence number without a lock (a PostgreSQL sequence); the default,
	// MAX(seq)+1, relies on a single writer.
	AuditSeq string
	// AuditBatches keeps the audit tree's leaves as batches, runs of
	// consecutive seqs that took consecutive leaves (audit_batches),
	// instead of a leaf in every entry, so that an entry's row is written
	// once: an entry's leaf follows from its seq, and pending entries are
	// those past the last batch. It needs a log whose entries commit in seq
	// order, as SQLite's one writer's do; PostgreSQL's sequence leaves gaps
	// that commits fill out of order, so there each entry gets its leaf.
	AuditBatches bool
	// AuditLock, if set, keeps IntegrateAudit runs apart across processes.
	// It is taken by the integrator only, never by an append.
	AuditLock func(ctx context.Context, q Querier) error
	// WriteOptions begin every write transaction, migrations included;
	// nil for the driver's default.
	WriteOptions *sql.TxOptions
	// MaxParams bounds the parameters of one batched statement; 0 means
	// 192 (see chunks). PostgreSQL takes many more, and fewer statements
	// save round trips.
	MaxParams int
	// Anonymous makes batched statements use ? placeholders instead of
	// $1, $2... modernc.org/sqlite binds a numbered parameter by looking
	// its name up in a list, which is quadratic in the parameters of a
	// statement, and skips the lookup for an anonymous one.
	Anonymous bool
	// HasTag returns the SQL condition that the JSON list of strings in
	// column col holds the string bound to param: each database reads JSON
	// its own way.
	HasTag func(col, param string) string
	// Arrays makes batched statements take one array parameter a column
	// (PostgreSQL's unnest and = ANY) instead of one parameter a value:
	// a batch is then one short statement, which the server parses and
	// plans once, instead of chunks of thousands of parameters each.
	Arrays bool
}

// Run runs fn in a transaction of db begun with opts (nil for
// d.WriteOptions), and commits it if fn returns nil. fn's own error is
// returned as it is; errors of the database are translated into kinds.
// stmts, if not nil, caches the prepared statements of db.
func Run(ctx context.Context, db *sql.DB, stmts *Stmts, opts *sql.TxOptions, d *Dialect, fn func(imgward.Tx) error) error {
	if opts == nil {
		opts = d.WriteOptions
	}
	if stmts != nil {
		stmts.prepare(ctx)
	}
	stx, err := db.BeginTx(ctx, opts)
	if err != nil {
		return d.wrap("Begin", err)
	}
	// Rollback after Commit is a no-op; this also rolls back on panic.
	defer stx.Rollback()
	if (opts == nil || !opts.ReadOnly) && d.WriteLock != nil {
		if err := d.WriteLock(ctx, stx); err != nil {
			return d.wrap("WriteLock", err)
		}
	}
	if err := fn(&tx{tx: stx, q: stx, d: d, stmts: stmts}); err != nil {
		return err
	}
	if err := stx.Commit(); err != nil {
		return d.wrap("Commit", err)
	}
	return nil
}

// Querier runs a transaction's statements: a *sql.Tx, or a *sql.Conn on
// which the backend began the transaction itself (RunOn).
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// RunOn runs fn on q, in a transaction that the caller began on q and
// ends: a backend that begins its transactions in fewer round trips than
// database/sql does (store/postgres begins and takes its lock in one).
// auditSeq, if not 0, is a sequence number the caller took for the audit
// log in the same round trip; the transaction's first AppendAudit uses it.
func RunOn(ctx context.Context, q Querier, d *Dialect, auditSeq int64, fn func(imgward.Tx) error) error {
	return fn(&tx{q: q, d: d, auditSeq: auditSeq})
}

// RunOne runs fn, a read of one statement, on q outside any transaction
// (imgward.OneReader): q is a *sql.DB, and each statement takes a
// connection and commits on its own. So fn may not write (execs fail before
// they run), and a second statement, which would not see the first's
// snapshot, makes RunOne fail. stmts, if not nil, caches the prepared
// statements of q, which is then the *sql.DB they were prepared on.
func RunOne(ctx context.Context, q Querier, stmts *Stmts, d *Dialect, fn func(imgward.Tx) error) error {
	if stmts != nil {
		stmts.prepare(ctx)
	}
	t := &tx{q: q, d: d, stmts: stmts, one: true}
	err := fn(t)
	if err == nil && t.ran > 1 {
		err = d.wrap("ViewOne", errors.E(errors.Internal, errors.Errorf("%d statements in a read of one", t.ran)))
	}
	return err
}

// Savepoint runs fn within stx under a savepoint: if fn fails, or panics,
// what it wrote is rolled back and the rest of stx stays. It lets a backend
// commit the work of several callers in one transaction (group commit)
// while each caller's work stays all or nothing.
//
// Every statement of fn runs with ctx, whatever context fn passes: a
// cancelled caller must not interrupt a statement (sqlite3_interrupt), which
// would roll back the whole shared transaction, the other callers' work
// with it, and leave the rest of the group to run outside any transaction.
//
// g is what the callers of one transaction share (Group); nil for none.
func Savepoint(ctx context.Context, stx *sql.Tx, stmts *Stmts, d *Dialect, g *Group, fn func(imgward.Tx) error) (err error) {
	t := &tx{tx: stx, q: stx, d: d, stmts: stmts, ctx: ctx, group: g}
	if _, err := t.execContext(ctx, "SAVEPOINT w"); err != nil {
		return d.wrap("Savepoint", err)
	}
	defer func() {
		if err != nil {
			if g != nil {
				g.Forget() // what fn appended is rolled back
			}
			if _, rerr := t.execContext(ctx, "ROLLBACK TO w"); rerr != nil {
				err = d.wrap("Savepoint", rerr)
			}
		}
		if _, rerr := t.execContext(ctx, "RELEASE w"); rerr != nil && err == nil {
			err = d.wrap("Savepoint", rerr)
		}
	}()
	return call(t, fn)
}

// Alone runs fn within stx as Savepoint does, for a transaction that
// carries fn's work alone: with no savepoint, since a failing fn makes the
// caller roll back the whole of stx instead. A savepoint costs SQLite a copy
// of every page that fn changes (its sub-journal), about as much as the
// commit's own writes of those pages.
func Alone(ctx context.Context, stx *sql.Tx, stmts *Stmts, d *Dialect, g *Group, fn func(imgward.Tx) error) error {
	return call(&tx{tx: stx, q: stx, d: d, stmts: stmts, ctx: ctx, group: g}, fn)
}

// call calls fn with t, turning a panic into an error of kind Internal.
func call(t *tx, fn func(imgward.Tx) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errors.E(t.d.Name+".Update", errors.Internal, errors.Errorf("panic: %v", r))
		}
	}()
	return fn(t)
}

// PrepareNoted prepares the queries that transactions noted, as Run does
// before it begins one.
func (s *Stmts) PrepareNoted(ctx context.Context) { s.prepare(ctx) }

// wrap translates err into an *errors.Error of the right kind. It never
// formats arguments into the message, so that no secret (a token hash) can
// leak through an error.
func (d *Dialect) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	op = d.Name + "." + op
	var e *errors.Error
	if errors.As(err, &e) {
		return errors.E(op, err) // already classified, by us or by fn
	}
	return errors.E(op, d.kind(err), err)
}

func (d *Dialect) kind(err error) errors.Kind {
	var ne net.Error
	switch {
	case stderrors.Is(err, sql.ErrNoRows):
		return errors.NotExist
	case stderrors.Is(err, context.Canceled), stderrors.Is(err, context.DeadlineExceeded),
		stderrors.Is(err, driver.ErrBadConn), stderrors.Is(err, sql.ErrConnDone),
		errors.As(err, &ne):
		return errors.Unavailable
	}
	if k := d.Kind(err); k != errors.Other {
		return k
	}
	return errors.Internal
}

// tx is an imgward.Tx over a *sql.Tx or a *sql.Conn (RunOn).
type tx struct {
	q     Querier
	tx    *sql.Tx // for prepared statements (stmts); nil under RunOn
	d     *Dialect
	stmts *Stmts
	// ctx, when not nil, replaces the callers' contexts in the statements
	// run: see Savepoint.
	ctx   context.Context
	group *Group // of a Savepoint; nil otherwise
	// auditSeq, when not 0, is the Seq of the next AppendAudit: see RunOn.
	auditSeq int64
	// begin, until the transaction is begun, begins it (RunOnLater);
	// beginErr is its failure, which every later statement returns.
	begin    Beginner
	beginErr error
	// one marks a read of one statement outside a transaction (RunOne);
	// ran counts its statements.
	one bool
	ran int
	// pipe lets writes wait for the next statement or the commit
	// (RunOnLater, later.go); later holds them, failed is the error of
	// one that failed when they ran.
	pipe   bool
	later  []Stmt
	failed error
}

// use returns the context a statement runs with.
func (t *tx) use(ctx context.Context) context.Context {
	if t.ctx != nil {
		return t.ctx
	}
	return ctx
}

var _ imgward.Tx = (*tx)(nil)

// execOne runs a statement that must change exactly the row named by its
// arguments: when none changed, the row is absent and the error is NotExist.
func (t *tx) execOne(ctx context.Context, op, query string, args ...any) error {
	n, err := t.execCount(ctx, op, query, args...)
	if err == nil && n == 0 {
		return t.d.wrap(op, sql.ErrNoRows)
	}
	return err
}

// execCount runs a statement and returns the number of rows it changed.
func (t *tx) execCount(ctx context.Context, op, query string, args ...any) (int64, error) {
	res, err := t.execContext(ctx, query, args...)
	if err != nil {
		return 0, t.d.wrap(op, err)
	}
	n, err := res.RowsAffected()
	return n, t.d.wrap(op, err)
}

func (t *tx) exec(ctx context.Context, op, query string, args ...any) error {
	_, err := t.execContext(ctx, query, args...)
	return t.d.wrap(op, err)
}

// list runs query and calls scan for each row.
func (t *tx) list(ctx context.Context, op, query string, args []any, scan func(*sql.Rows) error) error {
	rows, err := t.queryRows(ctx, query, args...)
	if err != nil {
		return t.d.wrap(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return t.d.wrap(op, err)
		}
	}
	return t.d.wrap(op, rows.Err())
}

// query builds a statement with numbered placeholders, so that optional
// filters bind exactly the arguments they use (PostgreSQL rejects a
// parameter whose type it cannot infer because no clause mentions it).
type query struct {
	where []string
	args  []any
}

// arg binds v and returns its placeholder.
func (q *query) arg(v any) string {
	q.args = append(q.args, v)
	return "$" + strconv.Itoa(len(q.args))
}

func (q *query) and(cond string) { q.where = append(q.where, cond) }

func (q *query) whereClause() string {
	if len(q.where) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(q.where, " AND ")
}

// micros is how a time is stored; the zero time is stored as 0.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// nullMicros stores the zero time as NULL, for times that are often unset.
func nullMicros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// usec scans a stored time: microseconds, 0 or NULL for the zero time.
type usec struct{ t *time.Time }

func (u usec) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*u.t = time.Time{}
	case int64:
		*u.t = time.Time{}
		if v != 0 {
			*u.t = time.UnixMicro(v).UTC()
		}
	default:
		return errors.Errorf("time column holds %T, want integer", v)
	}
	return nil
}
