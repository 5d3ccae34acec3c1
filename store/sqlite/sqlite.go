// Package sqlite is imgward's embedded Store: one SQLite database file, for
// a single node. It uses modernc.org/sqlite, which is pure Go.
//
// Writes go through one connection that begins with BEGIN IMMEDIATE, so
// writers queue in the process instead of failing with SQLITE_BUSY, and the
// audit log's head cannot change under an append. Reads use a pool of
// query-only connections; in WAL mode they run beside the writer.
//
// Durability: the database runs in WAL mode with synchronous=NORMAL by
// default. A commit then survives a crash of the process (kill -9), because
// the WAL is written before the commit returns; after a power loss or an OS
// crash the last commits may be rolled back, but the database is never
// corrupted. Sync: SyncFull fsyncs the WAL at every commit and survives
// those too, at the cost of an fsync per write.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	stderrors "errors"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"imgward"
	"imgward/errors"
	"imgward/store/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Sync is how far a commit reaches before it returns.
type Sync string

// The sync modes.
const (
	SyncNormal Sync = "normal" // survives a process crash; the default
	SyncFull   Sync = "full"   // survives a power loss too; an fsync per commit
)

// Options tune a Store. The zero Options are the defaults.
type Options struct {
	Sync Sync
}

// Store is an imgward.Store on a SQLite file.
type Store struct {
	write *sql.DB // one connection: SQLite has one writer at a time
	read  *sql.DB // query_only connections for View
	// Prepared statements of each pool: the driver would parse every
	// query again otherwise.
	writeStmts, readStmts *sqlstore.Stmts

	writes           chan *write    // to the writer goroutine (group.go)
	audit            sqlstore.Group // the next audit sequence, by the writer
	closing, stopped chan struct{}  // Close asks the writer to stop; it says it has
	closeOnce        sync.Once

	ckpt        *sql.DB       // one connection, for the checkpointer (checkpoint.go)
	commits     int           // by the writer
	ckptWake    chan struct{} // from the writer to the checkpointer
	ckptDone    atomic.Bool   // from the checkpointer to the writer
	ckptRuns    atomic.Int64  // checkpoints run, for tests
	ckptStopped chan struct{}
}

var _ imgward.Store = (*Store)(nil)
var _ imgward.OneReader = (*Store)(nil)

// With anonymous parameters, binding costs the same per parameter in any
// statement; beyond 768 (128 snapshots), larger statements measured no
// faster.
var dialect = sqlstore.Dialect{Name: "sqlite", Kind: kind, Anonymous: true, MaxParams: 768, AuditBatches: true,
	HasTag: func(col, param string) string {
		return "EXISTS (SELECT 1 FROM json_each(" + col + ") t WHERE t.value = " + param + ")"
	},
}

// busyTimeout is how long, in milliseconds, a connection waits for a lock
// held by another process (an imgward command run beside the server).
const busyTimeout = "10000"

// Open opens the database at path with the default Options, creating it
// and its directory if missing, and migrates its schema.
func Open(ctx context.Context, path string) (*Store, error) {
	return OpenOptions(ctx, path, Options{})
}

// OpenOptions is Open with options. A new directory is made with mode 0700
// and a new file with mode 0600 (SQLite gives its -wal and -shm files the
// database file's mode); an existing file keeps its mode.
func OpenOptions(ctx context.Context, path string, opts Options) (*Store, error) {
	const op = "sqlite.Open"
	sync := opts.Sync
	switch sync {
	case "":
		sync = SyncNormal
	case SyncNormal, SyncFull:
	default:
		return nil, errors.E(op, errors.Invalid, errors.Msg("sync must be normal or full"))
	}
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		// Two pools on one in-memory database would be two databases.
		return nil, errors.E(op, errors.Invalid, errors.Msg("path must name a database file"))
	}
	uri, err := create(path)
	if err != nil {
		return nil, errors.E(op, errors.Unavailable, err)
	}
	s := &Store{}
	s.write, err = sql.Open("sqlite", uri+"?_txlock=immediate&_busy_timeout="+busyTimeout+
		"&_journal_mode=WAL&_synchronous="+string(sync)+"&_foreign_keys=1&_pragma=wal_autocheckpoint(0)&_pragma=temp_store(memory)")
	if err != nil {
		return nil, errors.E(op, errors.Internal, err)
	}
	s.write.SetMaxOpenConns(1)
	// The write pool goes first: its first connection puts the file in WAL
	// mode, which then holds for every connection.
	sub, _ := fs.Sub(migrations, "migrations")
	if err := sqlstore.Migrate(ctx, s.write, sub, &dialect); err != nil {
		s.write.Close()
		return nil, errors.E(op, err)
	}
	s.read, err = sql.Open("sqlite", uri+"?_busy_timeout="+busyTimeout+"&_foreign_keys=1&_query_only=1")
	if err != nil {
		s.write.Close()
		return nil, errors.E(op, errors.Internal, err)
	}
	s.read.SetMaxOpenConns(max(4, runtime.NumCPU()))
	s.read.SetMaxIdleConns(max(4, runtime.NumCPU()))
	s.ckpt, err = sql.Open("sqlite", uri+"?_busy_timeout="+busyTimeout)
	if err != nil {
		s.write.Close()
		s.read.Close()
		return nil, errors.E(op, errors.Internal, err)
	}
	s.ckpt.SetMaxOpenConns(1)
	s.ckptWake, s.ckptStopped = make(chan struct{}, 1), make(chan struct{})
	s.writeStmts, s.readStmts = sqlstore.NewStmts(s.write), sqlstore.NewStmts(s.read)
	s.writes = make(chan *write, maxGroup)
	s.closing, s.stopped = make(chan struct{}), make(chan struct{})
	go s.writer()
	go s.checkpointer(s.ckpt)
	return s, nil
}

// create makes the directory and the file at path if missing, with modes
// only the owner can read, and returns a SQLite URI naming the file.
func create(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return "", err
	}
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	// A URI, escaped, so that a '?' or '%' in the path is part of the name.
	return "file:" + (&url.URL{Path: abs}).EscapedPath(), nil
}

// View runs fn in a read-only transaction on a query-only connection: a
// write in fn fails.
func (s *Store) View(ctx context.Context, fn func(imgward.Tx) error) error {
	return sqlstore.Run(ctx, s.read, s.readStmts, &sql.TxOptions{ReadOnly: true}, &dialect, fn)
}

// ViewOne runs fn, a read of one statement, on a read connection without
// BEGIN and COMMIT around it (imgward.OneReader): SQLite runs a lone
// statement in a read transaction of its own, one consistent snapshot. It
// is the token check of every request.
func (s *Store) ViewOne(ctx context.Context, fn func(imgward.Tx) error) error {
	return sqlstore.RunOne(ctx, s.read, s.readStmts, &dialect, fn)
}

// Close stops the writer, after the group it is committing, and closes
// the database.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { close(s.closing) })
	<-s.stopped
	<-s.ckptStopped
	s.writeStmts.Close()
	s.readStmts.Close()
	return stderrors.Join(s.write.Close(), s.read.Close(), s.ckpt.Close())
}

// Ping checks that the database answers, for readiness checks.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.read.PingContext(ctx); err != nil {
		return errors.E("sqlite.Ping", errors.Unavailable, err)
	}
	return nil
}

// kind classifies an error of SQLite by its result code.
func kind(err error) errors.Kind {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return errors.Other
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return errors.Exist
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return errors.NotExist
	}
	switch se.Code() & 0xff { // the primary result code
	case sqlite3.SQLITE_CONSTRAINT:
		return errors.Invalid
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL,
		sqlite3.SQLITE_CANTOPEN:
		return errors.Unavailable
	}
	// SQLITE_READONLY among them: a write in View is a bug of the caller.
	return errors.Internal
}
