package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"time"

	"imgward/errors"
)

// migration is one schema change: a file NNNN_what.sql of a backend.
type migration struct {
	version int64
	name    string
	sql     string
}

// Migrate brings db's schema up to date with the migrations in fsys, files
// named NNNN_what.sql applied in order of NNNN, each recorded in
// schema_migrations. All pending migrations run in one transaction, after
// the dialect's write lock, so that nodes starting at once migrate once and
// a failed migration leaves the schema as it was.
func Migrate(ctx context.Context, db *sql.DB, fsys fs.FS, d *Dialect) error {
	const op = "Migrate"
	ms, err := readMigrations(fsys)
	if err != nil {
		return d.wrap(op, errors.E(errors.Internal, err))
	}
	stx, err := db.BeginTx(ctx, d.WriteOptions)
	if err != nil {
		return d.wrap(op, err)
	}
	defer stx.Rollback()
	if d.WriteLock != nil {
		if err := d.WriteLock(ctx, stx); err != nil {
			return d.wrap(op, err)
		}
	}
	if _, err := stx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return d.wrap(op, err)
	}
	var cur int64
	err = stx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&cur)
	if err != nil {
		return d.wrap(op, err)
	}
	if n := len(ms); n > 0 && cur > ms[n-1].version {
		// A newer imgward migrated this database; running on it could
		// corrupt what this one does not understand.
		return d.wrap(op, errors.E(errors.Conflict,
			errors.Errorf("database schema version %d is newer than this imgward's %d", cur, ms[n-1].version)))
	}
	for _, m := range ms {
		if m.version <= cur {
			continue
		}
		if _, err := stx.ExecContext(ctx, m.sql); err != nil {
			return d.wrap(op, errors.E("migration "+m.name, d.kind(err), err))
		}
		if _, err := stx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`,
			m.version, time.Now().UnixMicro()); err != nil {
			return d.wrap(op, err)
		}
	}
	return d.wrap(op, stx.Commit())
}

// readMigrations reads and orders the *.sql files at the root of fsys.
func readMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, name := range names {
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil || v <= 0 {
			return nil, errors.Errorf("migration %s: name is not NNNN_what.sql", name)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return cmp.Compare(a.version, b.version) })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, errors.Errorf("migrations %s and %s share a version", ms[i-1].name, ms[i].name)
		}
	}
	return ms, nil
}
