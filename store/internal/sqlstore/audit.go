package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"imgward"
	"imgward/audit"
	"imgward/errors"
)

// AppendAudit reads the head of the log and appends after it. It relies on
// the write transaction being the only writer until it commits (SQLite's one
// write connection, PostgreSQL's Dialect.WriteLock): two appends can then
// never read the same head, and the primary key on seq would reject one if
// they did.
func (t *tx) AppendAudit(ctx context.Context, e *imgward.AuditEntry) error {
	const op = "AppendAudit"
	var last int64
	var head []byte
	err := t.queryRow(ctx,
		`SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&last, &head)
	switch {
	case errors.IsErr(err, sql.ErrNoRows):
		head = audit.Genesis
	case err != nil:
		return t.d.wrap(op, err)
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	// The store keeps microseconds; seal what will be read back.
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	e.Seq = last + 1
	audit.Seal(e, head)
	return t.exec(ctx, op,
		`INSERT INTO audit_log (seq, time, actor, action, object, result, reason, prev, hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		// Not micros: the zero time is never stored here, and the epoch
		// itself must read back as the epoch for the hash to verify.
		e.Seq, e.Time.UnixMicro(), e.Actor, e.Action, e.Object, e.Result, e.Reason, e.Prev, e.Hash)
}

// ListAudit lists up to limit entries after seq after; a limit of 0 means
// no limit, as in imgward.ImageFilter.
func (t *tx) ListAudit(ctx context.Context, after int64, limit int) ([]imgward.AuditEntry, error) {
	const op = "ListAudit"
	if limit < 0 {
		return nil, t.d.wrap(op, errors.E(errors.Invalid, errors.Msg("invalid limit")))
	}
	var q query
	stmt := `SELECT seq, time, actor, action, object, result, reason, prev, hash
		FROM audit_log WHERE seq > ` + q.arg(after) + ` ORDER BY seq`
	if limit > 0 {
		stmt += ` LIMIT ` + q.arg(limit)
	}
	es := []imgward.AuditEntry{}
	err := t.list(ctx, op, stmt, q.args, func(r *sql.Rows) error {
		var e imgward.AuditEntry
		var us int64
		err := r.Scan(&e.Seq, &us, &e.Actor, &e.Action, &e.Object, &e.Result,
			&e.Reason, &e.Prev, &e.Hash)
		e.Time = time.UnixMicro(us).UTC()
		es = append(es, e)
		return err
	})
	return es, err
}
