// Package postgres is imgward's shared Store: a PostgreSQL database that
// several imgward nodes use at once. It uses pgx through database/sql, so
// that it shares its SQL with store/sqlite (store/internal/sqlstore).
//
// # Writes across nodes
//
// Every write transaction, migrations included, first takes one
// transaction-scoped advisory lock, writeLockKey: an Update takes it
// EXCLUSIVE, a hot-path write (UpdateHot: launch and its denial, key release
// and its denial, snapshot ingest, audit appends and their integration)
// takes it SHARED. So an Update runs alone, as on SQLite's single writer,
// and the catalog's read-check-write steps run as if alone: under READ
// COMMITTED, each statement after the lock sees every earlier commit. (A
// stricter isolation would not help: its snapshot is taken when the lock is
// requested, before it is granted, and would miss the previous holder's
// commit.) Hot transactions run beside one another and scale with nodes.
// Reads run in REPEATABLE READ, READ ONLY transactions: one consistent
// snapshot per View, never blocked by writers.
//
// Why every rule still holds, rule by rule:
//
//   - Rules that a cold write changes and a hot one reads: a member's state
//     (accepted, pending, revoked), an image's quarantine and status, a
//     subscription (cancelled), an offer, a user disabled, an image key.
//     The cold write holds the lock exclusive from before its first read to
//     its commit. A hot transaction holding the lock shared when it asks
//     makes it wait, so the hot one commits first; one that asks after waits
//     for the commit (PostgreSQL queues a shared request behind a waiting
//     exclusive one, so cold writes are not starved), and its statements
//     then see the new rule. No hot transaction that commits after a
//     revocation, quarantine or cancellation read the state before it.
//   - A document (nonce) released once across nodes: the primary key of
//     identity_nonces. UseNonce is one INSERT ... ON CONFLICT DO UPDATE
//     ... WHERE expired: a second node's insert waits for the first's row
//     lock, then sees the committed row unexpired and changes nothing, so
//     exactly one release commits.
//   - Instance ids, audit sequence numbers: fresh keys (random ids, the
//     audit_log_seq sequence), with their primary keys as the backstop.
//   - Idempotency keys of ingest: the primary key of idempotency_keys; the
//     loser gets Exist, and monitor retries it as a replay.
//   - The latest snapshot of an instance is the one of the batch committed
//     last: the upsert's row lock makes a second batch for the instance
//     wait for the first's commit before it writes over it, and adds to its
//     count (no update is lost). PutSnapshots writes a batch's instances in
//     id order, so two batches do not deadlock.
//   - The audit log: appends read no other entry (sqlstore.AppendAudit);
//     the integrator takes its own lock, auditLockKey, and integrates only
//     committed entries, so an append that commits late takes a later leaf.
//
// The member state machine and every other rule that only cold writes
// touch stay under the exclusive lock, as before.
//
// Writes that a transaction queues to send with its COMMIT (a launch's
// instance and audit entry, sqlstore.RunOnLater; write.go) still run in
// the transaction, under its lock, before the COMMIT: the argument above
// does not change, only the round trip they travel in. Likewise the begin
// and its lock travel with the transaction's first read (a launch's image;
// sqlstore.Beginner), which the server runs after them: the read is made
// once the lock is held, and sees every commit before it.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"io/fs"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"imgward"
	"imgward/errors"
	"imgward/store/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is an imgward.Store on a PostgreSQL database.
type Store struct {
	db *sql.DB
}

var (
	_ imgward.Store      = (*Store)(nil)
	_ imgward.HotUpdater = (*Store)(nil)
	_ imgward.OneReader  = (*Store)(nil)
)

// writeLockKey names imgward's advisory lock ("imgward" in ASCII), one per
// database. Another application's locks in the same database would have to
// pick this very number to interfere.
const writeLockKey int64 = 0x696d6777617264

// auditLockKey names the audit integrator's advisory lock ("imgwaud" in
// ASCII): one integrator at a time builds the audit tree, while appends
// take no lock of the log's.
const auditLockKey int64 = 0x696d6777617564

// maxConns bounds the connections of one node, so that nodes and their
// waiting writers cannot exhaust the server's max_connections.
const maxConns = 16

// maxAttempts bounds the runs of an Update after serialization failures or
// deadlocks. Cold writes run alone and hot ones take row locks in one order
// (see the package comment), so neither should happen; the retries are a
// safety net for locks we do not foresee (another application's, an
// operator's), so a few suffice.
const maxAttempts = 5

// readOpts begin a View.
var readOpts = &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}

var dialect = sqlstore.Dialect{
	Name: "postgres",
	Kind: kind,
	// READ COMMITTED (see the package comment), set explicitly so that a
	// server whose default_transaction_isolation is stricter cannot change
	// it and break the write lock. WriteOptions and WriteLock serve the
	// migrations; Update and UpdateHot begin with begin (write.go).
	WriteOptions: &sql.TxOptions{Isolation: sql.LevelReadCommitted},
	MaxParams:    4096, // of 65535; a batch in a few statements, where Arrays does not apply
	Arrays:       true, // pgx sends []string and []int64 as text[] and bigint[]
	HasTag: func(col, param string) string {
		return col + "::jsonb @> jsonb_build_array(" + param + "::text)"
	},
	WriteLock: func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, writeLockKey)
		return err
	},
	AuditSeq: `SELECT nextval('audit_log_seq')`,
	AuditLock: func(ctx context.Context, q sqlstore.Querier) error {
		_, err := q.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, auditLockKey)
		return err
	},
}

// Open connects to the database named by dsn (a URL or key=value string, as
// libpq takes) and migrates its schema. Nodes may call Open at once.
func Open(ctx context.Context, dsn string) (*Store, error) {
	const op = "postgres.Open"
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// The cause is dropped: it quotes the DSN, and pgx can only try
		// to redact the password from it.
		return nil, errors.E(op, errors.Invalid, errors.Msg("invalid PostgreSQL DSN"))
	}
	return openConfig(ctx, cfg)
}

// openConfig is Open with the DSN parsed, so that tests can trace pgx.
func openConfig(ctx context.Context, cfg *pgx.ConnConfig) (*Store, error) {
	const op = "postgres.Open"
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	sub, _ := fs.Sub(migrations, "migrations")
	if err := sqlstore.Migrate(ctx, db, sub, &dialect); err != nil {
		db.Close()
		return nil, errors.E(op, err)
	}
	return &Store{db: db}, nil
}

// View runs fn in a read-only transaction on one snapshot.
func (s *Store) View(ctx context.Context, fn func(imgward.Tx) error) error {
	return sqlstore.Run(ctx, s.db, nil, readOpts, &dialect, fn)
}

// Update runs fn in a write transaction under the write lock, exclusive,
// and runs it again, up to maxAttempts in all, when PostgreSQL reports a
// serialization failure or a deadlock.
func (s *Store) Update(ctx context.Context, fn func(imgward.Tx) error) error {
	return s.retry(ctx, func() error { return s.write(ctx, false, fn) })
}

// UpdateHot runs fn as a hot-path write (imgward.HotUpdater): under the
// write lock shared, beside other hot writes of every node. It retries as
// Update does; hot writes that lock rows (ingest's upserts) can deadlock
// in orders we do not foresee.
func (s *Store) UpdateHot(ctx context.Context, fn func(imgward.Tx) error) error {
	return s.retry(ctx, func() error { return s.write(ctx, true, fn) })
}

// retry runs a transaction, and runs it again, up to maxAttempts in all,
// after a serialization failure or a deadlock.
func (s *Store) retry(ctx context.Context, run func() error) error {
	for attempt := 1; ; attempt++ {
		err := run()
		if err == nil || attempt == maxAttempts || !retryable(err) {
			return err
		}
		// Jitter, so that the transactions that collided do not collide
		// again in step.
		d := time.Duration(attempt)*10*time.Millisecond + rand.N(10*time.Millisecond)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(d):
		}
	}
}

// ViewOne runs fn, a read of one statement, outside a transaction
// (imgward.OneReader): one round trip where a View takes three. A token's
// check before every request is one.
func (s *Store) ViewOne(ctx context.Context, fn func(imgward.Tx) error) error {
	return sqlstore.RunOne(ctx, s.db, nil, &dialect, fn)
}

// Close closes the node's connections.
func (s *Store) Close() error { return s.db.Close() }

// Ping checks that the database answers, for readiness checks. pgx keeps
// its own cache of prepared statements per connection, so this store needs
// no sqlstore.Stmts.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return errors.E("postgres.Ping", errors.Unavailable, err)
	}
	return nil
}

func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// kind classifies an error of PostgreSQL by its SQLSTATE, or of the
// connection.
func kind(err error) errors.Kind {
	var pe *pgconn.PgError
	var ce *pgconn.ConnectError
	switch {
	case errors.As(err, &pe):
	case errors.As(err, &ce), pgconn.Timeout(err), pgconn.SafeToRetry(err):
		return errors.Unavailable
	default:
		return errors.Other
	}
	switch pe.Code {
	case "23505": // unique_violation
		return errors.Exist
	case "23503": // foreign_key_violation: the referenced row is absent
		return errors.NotExist
	case "40001", "40P01": // serialization_failure, deadlock_detected, after retries
		return errors.Conflict
	case "25006": // read_only_sql_transaction: a write in View is a bug of the caller
		return errors.Internal
	}
	switch pe.Code[:2] {
	case "22", "23": // data exception, integrity constraint violation
		return errors.Invalid
	case "08", "53", "57": // connection exception, insufficient resources, operator intervention
		return errors.Unavailable
	}
	return errors.Internal
}
