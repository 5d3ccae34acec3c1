package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"imgward"
	"imgward/audit"
	"imgward/errors"
)

// AppendAudit gives e the next sequence number and its hash (version 2) and
// writes it. It reads no other entry, so appends do not wait for one
// another on the log: the tree is built later by IntegrateAudit. The
// sequence comes from Dialect.AuditSeq: on PostgreSQL a sequence, which
// needs no lock (a rolled back append leaves a gap); on SQLite the one write
// connection makes MAX(seq)+1 safe, and the writer remembers it between
// appends (Group).
func (t *tx) AppendAudit(ctx context.Context, e *imgward.AuditEntry) error {
	const op = "AppendAudit"
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	// The store keeps microseconds; seal what will be read back.
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	e.Leaf = 0
	remembered, err := t.nextAuditSeq(ctx, &e.Seq)
	if err != nil {
		return t.d.wrap(op, err)
	}
	err = t.insertAudit(ctx, op, e)
	if remembered && errors.Is(errors.Exist, err) {
		// Another connection appended since: read the head of the log.
		t.group.Forget()
		if _, err = t.nextAuditSeq(ctx, &e.Seq); err != nil {
			return t.d.wrap(op, err)
		}
		err = t.insertAudit(ctx, op, e)
	}
	if err == nil && t.group != nil && t.d.AuditSeq == "" {
		t.group.next = e.Seq + 1
	}
	return err
}

// insertAudit seals e with its sequence number and writes it, perhaps with
// the commit (execLater): an append reads nothing back.
func (t *tx) insertAudit(ctx context.Context, op string, e *imgward.AuditEntry) error {
	audit.Seal(e)
	return t.execLater(ctx, op,
		`INSERT INTO audit_log (seq, time, actor, action, object, result, reason, prev, hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		// Not micros: the zero time is never stored here, and the epoch
		// itself must read back as the epoch for the hash to verify.
		e.Seq, e.Time.UnixMicro(), e.Actor, e.Action, e.Object, e.Result, e.Reason, []byte{}, e.Hash)
}

// nextAuditSeq reads the sequence number of the next entry into seq, and
// reports whether it was remembered (Group) rather than read.
func (t *tx) nextAuditSeq(ctx context.Context, seq *int64) (bool, error) {
	if err := t.begun(ctx); err != nil {
		return false, err
	}
	if t.auditSeq != 0 {
		// Taken as the transaction began (RunOn): a round trip saved.
		*seq, t.auditSeq = t.auditSeq, 0
		return false, nil
	}
	if t.d.AuditSeq != "" {
		return false, t.queryRow(ctx, t.d.AuditSeq).Scan(seq)
	}
	if t.group != nil && t.group.next > 0 {
		*seq = t.group.next
		return true, nil
	}
	return false, t.queryRow(ctx, `SELECT COALESCE(MAX(seq), 0) + 1 FROM audit_log`).Scan(seq)
}

// Group is what the writes that share one transaction (SQLite's group
// commit, Savepoint) share, and what the writer carries from one
// transaction to the next: the sequence number of the next audit entry,
// once an append has written one, so that an append need not read
// MAX(seq) + 1 first. It is only a guess: SQLite's one write connection
// makes it right unless another process wrote the log meanwhile, and then
// the entry's insert fails on the taken number and AppendAudit reads the
// head of the log instead. A write rolled back forgets it, since its
// entries go with it, and so must the writer after a failed commit. The
// zero Group knows nothing yet.
type Group struct{ next int64 }

// Forget drops what g knows, after a rollback.
func (g *Group) Forget() { g.next = 0 }

// ListAudit lists up to limit entries after seq after; a limit of 0 means
// no limit, as in imgward.ImageFilter.
func (t *tx) ListAudit(ctx context.Context, after int64, limit int) ([]imgward.AuditEntry, error) {
	const op = "ListAudit"
	if limit < 0 {
		return nil, t.d.wrap(op, errors.E(errors.Invalid, errors.Msg("invalid limit")))
	}
	var q query
	stmt := `SELECT ` + auditColumns + `, ` + t.leafOf("a") + ` FROM audit_log a WHERE a.seq > ` + q.arg(after) + ` ORDER BY a.seq`
	return t.listAudit(ctx, op, stmt, &q, limit)
}

// ListAuditLeaves lists up to limit integrated entries after leaf after,
// in the tree's order.
func (t *tx) ListAuditLeaves(ctx context.Context, after int64, limit int) ([]imgward.AuditEntry, error) {
	const op = "ListAuditLeaves"
	if limit < 0 {
		return nil, t.d.wrap(op, errors.E(errors.Invalid, errors.Msg("invalid limit")))
	}
	var q query
	stmt := `SELECT ` + auditColumns + `, a.leaf FROM audit_log a WHERE a.leaf > ` + q.arg(after) + ` ORDER BY a.leaf`
	if t.d.AuditBatches {
		// From the batch that holds leaf after+1 on, batch by batch in
		// leaf order and each in seq order: both indexes walked in order,
		// so a page costs its own rows, not the log's.
		stmt = `SELECT ` + auditColumns + `, b.first_leaf + a.seq - b.first_seq
			FROM audit_batches b JOIN audit_log a ON a.seq >= b.first_seq AND a.seq <= b.last_seq
			WHERE b.first_leaf >= COALESCE((SELECT MAX(first_leaf) FROM audit_batches WHERE first_leaf <= ` + q.arg(after+1) + `), 0)
			AND b.first_leaf + a.seq - b.first_seq > ` + q.arg(after) + `
			ORDER BY b.first_leaf, a.seq`
	}
	return t.listAudit(ctx, op, stmt, &q, limit)
}

// auditColumns are the columns of an entry, of audit_log a, in the order
// listAudit scans them; its leaf comes after them.
const auditColumns = `a.seq, a.time, a.actor, a.action, a.object, a.result, a.reason, a.prev, a.hash`

// leafOf is the SQL expression of the leaf of entry row a, NULL while it
// is pending. With batches, that is the batch with the greatest first_seq
// not above a's, if a's seq is not past its end: one step of the primary
// key's index, also for a pending entry.
func (t *tx) leafOf(a string) string {
	if !t.d.AuditBatches {
		return a + `.leaf`
	}
	return `(SELECT CASE WHEN b.last_seq >= ` + a + `.seq THEN b.first_leaf + ` + a + `.seq - b.first_seq END
		FROM audit_batches b WHERE b.first_seq <= ` + a + `.seq ORDER BY b.first_seq DESC LIMIT 1)`
}

func (t *tx) listAudit(ctx context.Context, op, stmt string, q *query, limit int) ([]imgward.AuditEntry, error) {
	if limit > 0 {
		stmt += ` LIMIT ` + q.arg(limit)
	}
	es := []imgward.AuditEntry{}
	err := t.list(ctx, op, stmt, q.args, func(r *sql.Rows) error {
		var e imgward.AuditEntry
		var us int64
		var leaf sql.NullInt64
		err := r.Scan(&e.Seq, &us, &e.Actor, &e.Action, &e.Object, &e.Result,
			&e.Reason, &e.Prev, &e.Hash, &leaf)
		e.Time = time.UnixMicro(us).UTC()
		e.Leaf = leaf.Int64
		if len(e.Prev) == 0 {
			e.Prev = nil // version 2
		}
		es = append(es, e)
		return err
	})
	return es, err
}
