package storetest

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

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

// MeteringUpgrade checks migration 0014: db holds the schema before it
// (migrations up to 0013), with an instance metered in the former
// metered_instances table; its usage must be the same once open has
// migrated the database, and an instance that was not metered must stay
// out of it.
func MeteringUpgrade(t *testing.T, db *sql.DB, open func() imgward.Store) {
	t.Helper()
	c := context.Background()
	o := newOffer(1, projectID(1), "paid")
	sub := newSub(1, o, projectID(2))
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO offers (id, image_id, owner, product_code, title, description, price_micros, currency, per,
			state, created_at, updated_at) VALUES ($1, $2, $3, $4, 't', '', 1, 'USD', 'hour', 'active', 0, 0)`,
			[]any{string(o.ID), string(o.ImageID), string(o.Owner), string(o.ProductCode)}},
		{`INSERT INTO subscriptions (id, offer_id, project_id, user_id, terms, price_micros, currency, per, state,
			created_at) VALUES ($1, $2, $3, 'u', 't', 1, 'USD', 'hour', 'active', 0)`,
			[]any{string(sub.ID), string(o.ID), string(sub.ProjectID)}},
	} {
		if _, err := db.ExecContext(c, q.sql, q.args...); err != nil {
			t.Fatal(err)
		}
	}
	for i, metered := range []bool{true, false} {
		id := fmt.Sprintf("i-%016x", i)
		if _, err := db.ExecContext(c, `INSERT INTO instances (id, image_id, project_id, user_id, host, state,
			created_at, terminated_at) VALUES ($1, $2, $3, 'u', 'h', 'terminated', $4, $5)`,
			id, string(o.ImageID), string(sub.ProjectID), at(0).UnixMicro(), at(0).Add(time.Hour).UnixMicro()); err != nil {
			t.Fatal(err)
		}
		if metered {
			if _, err := db.ExecContext(c, `INSERT INTO metered_instances (instance_id, subscription_id, offer_id,
				created_at, terminated_at) VALUES ($1, $2, $3, $4, $5)`,
				id, string(sub.ID), string(o.ID), at(0).UnixMicro(), at(0).Add(time.Hour).UnixMicro()); err != nil {
				t.Fatal(err)
			}
		}
	}
	s := open()
	view(t, s, func(tx imgward.Tx) error {
		rows, err := tx.Usage(ctx(t), o.ID, "", at(-1), at(0).Add(2*time.Hour))
		if err != nil {
			return err
		}
		want := []imgward.UsageRow{{SubscriptionID: sub.ID, ProjectID: sub.ProjectID, Instances: 1, Micros: time.Hour.Microseconds()}}
		if diff := cmp.Diff(want, rows); diff != "" {
			t.Errorf("usage after migration (-want +got):\n%s", diff)
		}
		return nil
	})
}
