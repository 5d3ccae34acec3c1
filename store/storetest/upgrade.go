package storetest

import (
	"context"
	"database/sql"
	"encoding/hex"
	"io/fs"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"imgward"
)

// MigrationsBefore returns the migrations of fsys (a directory of
// NNNN_name.sql files) numbered below version, to build a database as an
// older imgward left it.
func MigrationsBefore(t *testing.T, fsys fs.FS, version int) fs.FS {
	t.Helper()
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil || len(names) == 0 {
		t.Fatalf("no migrations: %v", err)
	}
	old := fstest.MapFS{}
	for _, name := range names {
		v, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
		if err != nil {
			t.Fatalf("migration %s: %v", name, err)
		}
		if v >= version {
			continue
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			t.Fatal(err)
		}
		old[name] = &fstest.MapFile{Data: b}
	}
	return old
}

// TokenUpgrade checks migration 0012: db holds the schema before it
// (migrations up to 0011); a user's single token written there, in
// users.token_hash, must keep working once open has migrated the database,
// and a user without a token must have none.
func TokenUpgrade(t *testing.T, db *sql.DB, open func() imgward.Store) {
	t.Helper()
	c := context.Background()
	h := tokenHash("old token")
	for _, u := range []struct {
		id   imgward.UserID
		hash any
	}{{userID(1), h}, {userID(2), nil}} {
		if _, err := db.ExecContext(c, `INSERT INTO users (id, name, project_id, role, token_hash, created_at, hosts)
			VALUES ($1, 'old', $2, 'member', $3, $4, '')`, string(u.id), string(projectID(1)), u.hash, at(0).UnixMicro()); err != nil {
			t.Fatal(err)
		}
	}
	s := open()
	view(t, s, func(tx imgward.Tx) error {
		u, k, err := tx.UserByTokenHash(ctx(t), h)
		if err != nil {
			return err
		}
		want := imgward.Token{ID: hex.EncodeToString(h[:8]), Hash: h, UserID: userID(1), CreatedAt: at(0)}
		if u.ID != userID(1) || u.Disabled || string(k.Hash) != string(want.Hash) || k.ID != want.ID ||
			!k.CreatedAt.Equal(want.CreatedAt) || !k.ExpiresAt.IsZero() || !k.RevokedAt.IsZero() {
			t.Errorf("after migration: user %+v, token %+v; want %+v", u, k, want)
		}
		none, err := tx.ListTokens(ctx(t), userID(2))
		if err != nil {
			return err
		}
		if len(none) != 0 {
			t.Errorf("a user without a token has %d after migration", len(none))
		}
		return nil
	})
}
