package sqlstore

import (
	"context"
	"database/sql"

	"imgward"
	"imgward/errors"
)

// Flags of images suspected of being taken from a protected image.

func conflict(msg string) error { return errors.E(errors.Conflict, errors.Msg(msg)) }

// CreateFlag flags an image; the foreign key makes a flag on an absent
// image NotExist.
func (t *tx) CreateFlag(ctx context.Context, f *imgward.Flag) error {
	return t.exec(ctx, "CreateFlag",
		`INSERT INTO image_flags (image_id, derived_from, fraction, reason, created_at, cleared_by, cleared_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		string(f.ImageID), string(f.DerivedFrom), f.Fraction, f.Reason, micros(f.CreatedAt),
		string(f.ClearedBy), nullMicros(f.ClearedAt))
}

const flagCols = `image_id, derived_from, fraction, reason, created_at, cleared_by, cleared_at`

func scanFlag(r interface{ Scan(...any) error }, f *imgward.Flag) error {
	return r.Scan(&f.ImageID, &f.DerivedFrom, &f.Fraction, &f.Reason, usec{&f.CreatedAt},
		&f.ClearedBy, usec{&f.ClearedAt})
}

func (t *tx) Flag(ctx context.Context, id imgward.ImageID) (*imgward.Flag, error) {
	var f imgward.Flag
	row := t.queryRow(ctx, `SELECT `+flagCols+` FROM image_flags WHERE image_id = $1`, string(id))
	if err := scanFlag(row, &f); err != nil {
		return nil, t.d.wrap("Flag", err)
	}
	return &f, nil
}

func (t *tx) UpdateFlag(ctx context.Context, f *imgward.Flag) error {
	return t.execOne(ctx, "UpdateFlag",
		`UPDATE image_flags SET derived_from = $2, fraction = $3, reason = $4, created_at = $5,
			cleared_by = $6, cleared_at = $7
		WHERE image_id = $1`,
		string(f.ImageID), string(f.DerivedFrom), f.Fraction, f.Reason, micros(f.CreatedAt),
		string(f.ClearedBy), nullMicros(f.ClearedAt))
}

func (t *tx) ListFlags(ctx context.Context, withCleared bool) ([]imgward.Flag, error) {
	q := `SELECT ` + flagCols + ` FROM image_flags`
	if !withCleared {
		q += ` WHERE cleared_at IS NULL`
	}
	fs := []imgward.Flag{}
	err := t.list(ctx, "ListFlags", q+` ORDER BY created_at, image_id`, nil, func(r *sql.Rows) error {
		var f imgward.Flag
		err := scanFlag(r, &f)
		fs = append(fs, f)
		return err
	})
	return fs, err
}
