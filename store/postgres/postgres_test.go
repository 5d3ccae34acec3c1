package postgres

import (
	"database/sql"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"imgward"
	"imgward/errors"
	"imgward/store/internal/sqlstore"
	"imgward/store/storetest"
)

func open(t *testing.T, dsn string) *Store {
	s, err := Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.PostgresServer(t) // skip or fail once, not in every subtest
	storetest.Run(t, func(t *testing.T) imgward.Store { return open(t, storetest.PostgresDSN(t)) })
}

// TestNodes runs two stores on one database, as two imgward nodes: they
// migrate at once, then append to the audit log at once, and the log must
// be one valid chain.
func TestNodes(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	nodes := make([]imgward.Store, 2)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() {
			s, err := Open(t.Context(), dsn)
			if err != nil {
				t.Errorf("node %d: Open: %v", i, err)
				return
			}
			t.Cleanup(func() { s.Close() })
			nodes[i] = s
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	var migrations int
	if err := nodes[0].(*Store).db.QueryRowContext(t.Context(), "SELECT count(*) FROM schema_migrations").Scan(&migrations); err != nil {
		t.Fatal(err)
	}
	files, _ := fs.Glob(embedded, "migrations/*.sql")
	if migrations != len(files) {
		t.Errorf("schema_migrations has %d rows after two nodes migrated, want %d", migrations, len(files))
	}
	storetest.AppendConcurrently(t, nodes, 12, 10)
	if got := len(storetest.VerifyAudit(t, nodes[1])); got != 120 {
		t.Errorf("audit log has %d entries, want 120", got)
	}
}

// TestHotRaces races hot-path writes on three stores on one database, as
// three nodes, against the Updates that change the rules they read
// (storetest.HotRaces).
func TestHotRaces(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	nodes := make([]imgward.Store, 3)
	for i := range nodes {
		nodes[i] = open(t, dsn)
	}
	storetest.HotRaces(t, nodes)
}

// TestRetry checks that Update runs fn again after a serialization failure
// or a deadlock, and only then.
func TestRetry(t *testing.T) {
	s := open(t, storetest.PostgresDSN(t))
	tests := []struct {
		code      string
		failures  int // how many calls fail with code
		wantCalls int
		wantErr   bool
	}{
		{"40001", 1, 2, false},
		{"40P01", 2, 3, false},
		{"40001", 100, maxAttempts, true},
		{"23505", 1, 1, true}, // a unique violation is no conflict
	}
	for i, tt := range tests {
		calls := 0
		err := s.Update(t.Context(), func(tx imgward.Tx) error {
			calls++
			if calls <= tt.failures {
				return &pgconn.PgError{Code: tt.code}
			}
			return tx.CreateProject(t.Context(), &imgward.Project{ID: imgward.ProjectID(fmt.Sprint("p", i))})
		})
		if calls != tt.wantCalls || (err != nil) != tt.wantErr {
			t.Errorf("%s failing %d times: fn called %d times, error %v; want %d calls, error %v",
				tt.code, tt.failures, calls, err, tt.wantCalls, tt.wantErr)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	// Port 1 on loopback: nothing listens, the connection is refused.
	_, err := Open(t.Context(), "postgres://u:pw@127.0.0.1:1/x?sslmode=disable&connect_timeout=5")
	if !errors.Is(errors.Unavailable, err) {
		t.Errorf("Open of a server that is down: error %v, want kind Unavailable", err)
	}
	_, err = Open(t.Context(), "postgres://u:s3cret@127.0.0.1:badport/x")
	if !errors.Is(errors.Invalid, err) {
		t.Errorf("Open of a bad DSN: error %v, want kind Invalid", err)
	}
	if err != nil && strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error shows the password: %v", err)
	}
}

// embedded is the package's migrations, under a name that the tests'
// local variables do not shadow.
var embedded = migrations

func TestAuditTamper(t *testing.T) {
	storetest.PostgresServer(t)
	storetest.AuditTamper(t, storetest.AuditSchema{Sequence: true}, func(t *testing.T) (imgward.Store, *sql.DB) {
		dsn := storetest.PostgresDSN(t)
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return open(t, dsn), db
	})
}

// TestTokenUpgrade checks that a database of an imgward before migration
// 0012 keeps its users' tokens working.
func TestTokenUpgrade(t *testing.T) { upgrade(t, 12, storetest.TokenUpgrade) }

// TestMeteringUpgrade checks that the usage of instances metered before
// migration 0014 survives it.
func TestMeteringUpgrade(t *testing.T) { upgrade(t, 14, storetest.MeteringUpgrade) }

// upgrade builds a database as an imgward before migration version left
// it and hands it to check, with a function that opens it migrated.
func upgrade(t *testing.T, version int, check func(*testing.T, *sql.DB, func() imgward.Store)) {
	storetest.PostgresServer(t)
	dsn := storetest.PostgresDSN(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sub, _ := fs.Sub(embedded, "migrations")
	if err := sqlstore.Migrate(t.Context(), db, storetest.MigrationsBefore(t, sub, version), &dialect); err != nil {
		t.Fatal(err)
	}
	check(t, db, func() imgward.Store { return open(t, dsn) })
}

// TestAuditUpgrade checks that the audit log of a database before
// migration 0015 keeps its leaves and tree and verifies after it.
func TestAuditUpgrade(t *testing.T) {
	upgrade(t, 15, storetest.AuditUpgrade(storetest.AuditSchema{Sequence: true}))
}
