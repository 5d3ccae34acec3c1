package sqlite

import (
	"database/sql"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"imgward"
	"imgward/errors"
	"imgward/store/internal/sqlstore"
	"imgward/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) imgward.Store { return openTemp(t) })
}

// openTemp opens a store in a temporary directory, closed when the test
// ends.
func openTemp(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "imgward.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSyncFull(t *testing.T) {
	s, err := OpenOptions(t.Context(), filepath.Join(t.TempDir(), "imgward.db"), Options{Sync: SyncFull})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var mode int
	if err := s.write.QueryRowContext(t.Context(), "PRAGMA synchronous").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != 2 {
		t.Errorf("synchronous = %d, want 2 (FULL)", mode)
	}
	_, err = OpenOptions(t.Context(), filepath.Join(t.TempDir(), "x.db"), Options{Sync: "off"})
	if !errors.Is(errors.Invalid, err) {
		t.Errorf("Sync off: error %v, want kind Invalid", err)
	}
}

// TestFiles checks the modes of a new database and its directory, WAL mode,
// and that a reopened database keeps its data (migrations run once).
func TestFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new dir?%") // a name that needs escaping in a URI
	path := filepath.Join(dir, "imgward.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	p := &imgward.Project{ID: "p", Name: "p"}
	if err := s.Update(t.Context(), func(tx imgward.Tx) error { return tx.CreateProject(t.Context(), p) }); err != nil {
		t.Fatal(err)
	}
	var journal string
	if err := s.read.QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&journal); err != nil {
		t.Fatal(err)
	}
	if journal != "wal" {
		t.Errorf("journal_mode = %q, want wal", journal)
	}
	for name, want := range map[string]os.FileMode{dir: 0o700 | os.ModeDir, path: 0o600, path + "-wal": 0o600} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", filepath.Base(name), fi.Mode(), want)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.View(t.Context(), func(tx imgward.Tx) error { _, err := tx.Project(t.Context(), "p"); return err })
	if err != nil {
		t.Errorf("after reopening: %v", err)
	}
	if _, err := Open(t.Context(), ":memory:"); !errors.Is(errors.Invalid, err) {
		t.Errorf("Open(:memory:): error %v, want kind Invalid", err)
	}
}

func TestAuditTamper(t *testing.T) {
	storetest.AuditTamper(t, storetest.AuditSchema{Batches: true}, func(t *testing.T) (imgward.Store, *sql.DB) {
		path := filepath.Join(t.TempDir(), "imgward.db")
		s, err := Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		db, err := sql.Open("sqlite", "file:"+path+"?_busy_timeout=5000")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return s, db
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
	path := filepath.Join(t.TempDir(), "imgward.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sub, _ := fs.Sub(migrations, "migrations")
	if err := sqlstore.Migrate(t.Context(), db, storetest.MigrationsBefore(t, sub, version), &dialect); err != nil {
		t.Fatal(err)
	}
	// db stays open beside the store, as a second connection would.
	check(t, db, func() imgward.Store {
		s, err := Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// TestAuditUpgrade checks that the audit log of a database before
// migration 0015 keeps its leaves and tree and verifies after it.
func TestAuditUpgrade(t *testing.T) {
	upgrade(t, 15, storetest.AuditUpgrade(storetest.AuditSchema{Batches: true}))
}
