package sqlstore

import (
	"context"
	"database/sql"
	"sync"

	"imgward/errors"
)

// maxStmts bounds the statement cache. Queries are built from a fixed set
// of fragments, so the real number is a few dozen; the bound only keeps a
// bug from growing it without end.
const maxStmts = 256

// Stmts caches prepared statements by query text. Parsing SQL was a fifth
// of the cost of a launch on SQLite, whose driver prepares every query
// afresh; database/sql keeps each *sql.Stmt prepared per connection.
//
// A statement cannot be prepared on the database from inside a
// transaction: SQLite's write pool has one connection, which that
// transaction holds. So a query seen for the first time runs unprepared and
// is noted; Run prepares the noted queries before it begins its next
// transaction, holding no connection and no lock while it waits for one.
type Stmts struct {
	db   *sql.DB
	mu   sync.Mutex
	m    map[string]*sql.Stmt
	want map[string]bool
}

// NewStmts returns a statement cache over db.
func NewStmts(db *sql.DB) *Stmts {
	return &Stmts{db: db, m: map[string]*sql.Stmt{}, want: map[string]bool{}}
}

// get returns the prepared statement for query, or nil, noting the query
// to be prepared later.
func (s *Stmts) get(query string) *sql.Stmt {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.m[query]; ok {
		return st
	}
	if len(s.m)+len(s.want) < maxStmts {
		s.want[query] = true
	}
	return nil
}

// prepare prepares the noted queries. A query that fails to prepare is
// dropped: it runs unprepared, and reports its own error then.
func (s *Stmts) prepare(ctx context.Context) {
	s.mu.Lock()
	if len(s.want) == 0 {
		s.mu.Unlock()
		return
	}
	var qs []string
	for q := range s.want {
		qs = append(qs, q)
	}
	clear(s.want)
	s.mu.Unlock()
	for _, q := range qs {
		st, err := s.db.PrepareContext(ctx, q)
		if err != nil {
			continue
		}
		s.mu.Lock()
		if _, dup := s.m[q]; dup {
			st.Close()
		} else {
			s.m[q] = st
		}
		s.mu.Unlock()
	}
}

// Close closes every cached statement.
func (s *Stmts) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for q, st := range s.m {
		st.Close()
		delete(s.m, q)
	}
	return nil
}

// stmt returns query prepared within the transaction, or nil.
func (t *tx) stmt(ctx context.Context, query string) *sql.Stmt {
	ctx = t.use(ctx)
	if t.stmts == nil {
		return nil
	}
	st := t.stmts.get(query)
	if st == nil || t.tx == nil {
		// Outside a transaction (RunOne) the statement runs on its own.
		return st
	}
	return t.tx.StmtContext(ctx, st)
}

func (t *tx) queryRow(ctx context.Context, query string, args ...any) interface{ Scan(...any) error } {
	ctx = t.use(ctx)
	t.ran++
	if t.begin != nil && len(t.later) == 0 {
		// The transaction's first statement: it goes with the begin.
		return &firstRow{t: t, ctx: ctx, query: query, args: args}
	}
	if err := t.begun(ctx); err != nil {
		return errRow{err}
	}
	// A failed queued write aborted the transaction: the query fails too,
	// and RunOnLater reports the write's error.
	_ = t.flush(ctx)
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.q.QueryRowContext(ctx, query, args...)
}

func (t *tx) queryRows(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx = t.use(ctx)
	t.ran++
	if err := t.begun(ctx); err != nil {
		return nil, err
	}
	if err := t.flush(ctx); err != nil {
		return nil, err
	}
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.q.QueryContext(ctx, query, args...)
}

func (t *tx) execContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx = t.use(ctx)
	if t.one {
		// Outside a transaction a write would commit at once.
		return nil, errors.E(errors.Internal, errors.Msg("a write in a read of one statement"))
	}
	if err := t.begun(ctx); err != nil {
		return nil, err
	}
	if err := t.flush(ctx); err != nil {
		return nil, err
	}
	if st := t.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.q.ExecContext(ctx, query, args...)
}
