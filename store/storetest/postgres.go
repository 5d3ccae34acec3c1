package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// PostgresServer returns the DSN of the test server, from
// IMGWARD_TEST_PG_DSN (scripts/pg-test-server.sh starts one). Without it
// the test is skipped, except in CI, where skipping would hide that
// PostgreSQL went untested.
func PostgresServer(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("IMGWARD_TEST_PG_DSN")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("IMGWARD_TEST_PG_DSN is not set: CI must run the PostgreSQL tests (scripts/pg-test-server.sh start)")
		}
		t.Skip("IMGWARD_TEST_PG_DSN is not set; start a server with scripts/pg-test-server.sh")
	}
	return dsn
}

// PostgresDSN creates a database of a random name on the test server,
// dropped when t ends, and returns its DSN, so that every test starts from
// an empty database.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	admin := PostgresServer(t)
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 8)
	rand.Read(b)
	name := "imgward_test_" + hex.EncodeToString(b)
	if _, err := db.ExecContext(context.Background(), "CREATE DATABASE "+name); err != nil {
		db.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// FORCE: a store the test forgot to close must not keep it.
		if _, err := db.ExecContext(context.Background(), "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping %s: %v", name, err)
		}
		db.Close()
	})
	if strings.HasPrefix(admin, "postgres://") || strings.HasPrefix(admin, "postgresql://") {
		u, err := url.Parse(admin)
		if err != nil {
			t.Fatal(err)
		}
		u.Path = "/" + name
		return u.String()
	}
	return admin + " dbname=" + name // key=value: the last dbname wins
}
