package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"

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

const auditColumns = `seq, time, actor, action, object, result, reason, prev, hash, leaf`

// ListAudit lists up to limit entries after seq after; a limit of 0 means
// no limit, as in imgward.ImageFilter.
func (t *tx) ListAudit(ctx context.Context, after int64, limit int) ([]imgward.AuditEntry, error) {
	return t.listAudit(ctx, "ListAudit", "seq", after, limit)
}

// ListAuditLeaves lists up to limit integrated entries after leaf after,
// in the tree's order.
func (t *tx) ListAuditLeaves(ctx context.Context, after int64, limit int) ([]imgward.AuditEntry, error) {
	return t.listAudit(ctx, "ListAuditLeaves", "leaf", after, limit)
}

func (t *tx) listAudit(ctx context.Context, op, by string, after int64, limit int) ([]imgward.AuditEntry, error) {
	if limit < 0 {
		return nil, t.d.wrap(op, errors.E(errors.Invalid, errors.Msg("invalid limit")))
	}
	var q query
	stmt := `SELECT ` + auditColumns + ` FROM audit_log WHERE ` + by + ` > ` + q.arg(after) + ` ORDER BY ` + by
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

// AuditTreeSize returns the number of integrated entries: leaves are 1..n.
func (t *tx) AuditTreeSize(ctx context.Context) (int64, error) {
	var n int64
	err := t.queryRow(ctx, `SELECT COALESCE(MAX(leaf), 0) FROM audit_log`).Scan(&n)
	return n, t.d.wrap("AuditTreeSize", err)
}

// AuditHashes reads stored tree hashes by index.
func (t *tx) AuditHashes(ctx context.Context, indexes []int64) ([][]byte, error) {
	const op = "AuditHashes"
	got := make(map[int64][]byte, len(indexes))
	err := t.chunks(len(indexes), 1, func(lo, hi int) error {
		var q query
		ps := make([]string, 0, hi-lo)
		for _, x := range indexes[lo:hi] {
			ps = append(ps, q.arg(x))
		}
		return t.list(ctx, op, `SELECT idx, hash FROM audit_tree WHERE idx IN (`+strings.Join(ps, ", ")+`)`, q.args,
			func(r *sql.Rows) error {
				var x int64
				var h []byte
				err := r.Scan(&x, &h)
				got[x] = h
				return err
			})
	})
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(indexes))
	for i, x := range indexes {
		if out[i] = got[x]; len(out[i]) != tlog.HashSize {
			return nil, t.d.wrap(op, errors.E(errors.NotExist, errors.Msg("audit tree hash missing")))
		}
	}
	return out, nil
}

// IntegrateAudit adds pending entries to the tree, in Seq order. The
// Dialect's AuditLock keeps integrations apart across nodes; it is not the
// write lock, so appends go on meanwhile. An entry appended by a
// transaction that commits later than a higher Seq's simply takes a later
// leaf: the leaf order, not Seq, is the log's order.
func (t *tx) IntegrateAudit(ctx context.Context, max int) (int64, int, error) {
	const op = "IntegrateAudit"
	if max < 1 {
		return 0, 0, t.d.wrap(op, errors.E(errors.Invalid, errors.Msg("invalid batch size")))
	}
	if t.d.AuditLock != nil {
		if err := t.d.AuditLock(ctx, t.q); err != nil {
			return 0, 0, t.d.wrap(op, err)
		}
	}
	n, err := t.AuditTreeSize(ctx)
	if err != nil {
		return 0, 0, err
	}
	type pending struct {
		seq  int64
		hash []byte
	}
	var ps []pending
	var q query
	err = t.list(ctx, op, `SELECT seq, hash FROM audit_log WHERE leaf IS NULL ORDER BY seq LIMIT `+q.arg(max), q.args,
		func(r *sql.Rows) error {
			var p pending
			err := r.Scan(&p.seq, &p.hash)
			ps = append(ps, p)
			return err
		})
	if err != nil || len(ps) == 0 {
		return n, 0, err
	}
	// The batch's own hashes are read back from memory, older ones from
	// the table.
	fresh := map[int64]tlog.Hash{}
	reader := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		var old []int64
		for i, x := range indexes {
			if h, ok := fresh[x]; ok {
				out[i] = h
			} else {
				old = append(old, x)
			}
		}
		if len(old) == 0 {
			return out, nil
		}
		hs, err := t.AuditHashes(ctx, old)
		if err != nil {
			return nil, err
		}
		j := 0
		for i, x := range indexes {
			if _, ok := fresh[x]; !ok {
				copy(out[i][:], hs[j])
				j++
			}
		}
		return out, nil
	})
	type stored struct {
		idx  int64
		hash tlog.Hash
	}
	var add []stored
	runStart := 0 // index in ps of the current run of consecutive seqs
	// With Arrays, the leaves go in one UPDATE from two arrays, whatever
	// the gaps between seqs: on PostgreSQL, hot writes of several nodes
	// commit out of seq order, and one that took a seq and wrote no entry
	// (a refused launch) leaves a gap, so runs can be short.
	var seqs, leaves []int64
	for i, p := range ps {
		hs, err := tlog.StoredHashes(n, p.hash, reader)
		if err != nil {
			return 0, 0, t.d.wrap(op, errors.E(errors.Internal, err))
		}
		base := tlog.StoredHashIndex(0, n)
		for j, h := range hs {
			fresh[base+int64(j)] = h
			add = append(add, stored{base + int64(j), h})
		}
		n++
		if t.d.Arrays {
			seqs, leaves = append(seqs, p.seq), append(leaves, n)
			continue
		}
		// One UPDATE per run of consecutive seqs, the usual case, rather
		// than one per entry: the integrator holds SQLite's one writer.
		if i+1 < len(ps) && ps[i+1].seq == p.seq+1 {
			continue
		}
		first := p.seq - int64(i-runStart)
		if err := t.exec(ctx, op, `UPDATE audit_log SET leaf = seq + $1 WHERE seq >= $2 AND seq <= $3`,
			n-p.seq, first, p.seq); err != nil {
			return 0, 0, err
		}
		runStart = i + 1
	}
	if len(seqs) > 0 {
		if err := t.exec(ctx, op, `UPDATE audit_log SET leaf = v.leaf
			FROM unnest($1::bigint[], $2::bigint[]) AS v(seq, leaf) WHERE audit_log.seq = v.seq`,
			seqs, leaves); err != nil {
			return 0, 0, err
		}
	}
	err = t.chunks(len(add), 2, func(lo, hi int) error {
		var q query
		vs := make([]string, 0, hi-lo)
		for _, a := range add[lo:hi] {
			vs = append(vs, "("+q.arg(a.idx)+", "+q.arg(a.hash[:])+")")
		}
		return t.exec(ctx, op, `INSERT INTO audit_tree (idx, hash) VALUES `+strings.Join(vs, ", "), q.args...)
	})
	return n, len(ps), err
}
