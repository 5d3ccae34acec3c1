package sqlstore

import (
	"context"
	"database/sql"
	"slices"
	"strconv"
	"strings"
	"time"

	"imgward"
	"imgward/errors"
)

// Batches are cut into chunks of power-of-two sizes, so that a batch of any
// length uses a handful of distinct statements, which the statement cache
// keeps prepared, instead of one statement text per length. Without
// Dialect.Anonymous, chunks stay small in parameters: binding a numbered
// parameter costs time linear in the parameters of its statement.
const maxParams = 192

// chunks calls fn with consecutive pieces of n items of cols parameters
// each, whose sizes are powers of two, largest first.
func (t *tx) chunks(n, cols int, fn func(lo, hi int) error) error {
	limit := t.d.MaxParams
	if limit <= 0 {
		limit = maxParams
	}
	maxChunk := 1
	for maxChunk*2*cols <= limit {
		maxChunk *= 2
	}
	for lo := 0; lo < n; {
		size := maxChunk
		for size > n-lo {
			size /= 2
		}
		if err := fn(lo, lo+size); err != nil {
			return err
		}
		lo += size
	}
	return nil
}

// placeholders returns rows groups of cols placeholders, "($1, $2), ($3, $4)",
// or "(?, ?), (?, ?)" in a dialect with anonymous parameters.
func (t *tx) placeholders(rows, cols int) string {
	var b strings.Builder
	for r := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := range cols {
			if c > 0 {
				b.WriteString(", ")
			}
			if t.d.Anonymous {
				b.WriteByte('?')
			} else {
				b.WriteString("$" + strconv.Itoa(r*cols+c+1))
			}
		}
		b.WriteByte(')')
	}
	return b.String()
}

func (t *tx) InstanceRefs(ctx context.Context, ids []imgward.InstanceID) ([]imgward.InstanceRef, error) {
	const op = "InstanceRefs"
	refs := make([]imgward.InstanceRef, 0, len(ids))
	scan := func(r *sql.Rows) error {
		var ref imgward.InstanceRef
		err := r.Scan(&ref.ID, &ref.ImageID, &ref.ProjectID, &ref.State, &ref.Publisher, &ref.Host)
		refs = append(refs, ref)
		return err
	}
	const query = `SELECT i.id, i.image_id, i.project_id, i.state, COALESCE(m.owner, ''), i.host
		FROM instances i LEFT JOIN images m ON m.id = i.image_id WHERE i.id `
	if t.d.Arrays && len(ids) > 0 {
		list := make([]string, len(ids))
		for i, id := range ids {
			list[i] = string(id)
		}
		return refs, t.list(ctx, op, query+`= ANY($1::text[])`, []any{list}, scan)
	}
	err := t.chunks(len(ids), 1, func(lo, hi int) error {
		args := make([]any, hi-lo)
		for i, id := range ids[lo:hi] {
			args[i] = string(id)
		}
		return t.list(ctx, op, query+`IN (`+strings.Trim(t.placeholders(1, hi-lo), "()")+`)`, args, scan)
	})
	return refs, err
}

// PutSnapshots keeps the record received last as an instance's latest:
// the last of the batch, which replaces the stored one, whatever their
// taken_at (a collector's clock, or a lie, must not decide which snapshot
// the store shows). It merges the records of one instance first:
// PostgreSQL's upsert may not touch a row twice in one statement.
func (t *tx) PutSnapshots(ctx context.Context, recs []imgward.SnapshotRecord) error {
	const op = "PutSnapshots"
	pos := make(map[imgward.InstanceID]int, len(recs))
	merged := make([]imgward.SnapshotRecord, 0, len(recs))
	for _, r := range recs {
		i, ok := pos[r.InstanceID]
		if !ok {
			pos[r.InstanceID] = len(merged)
			r.Count = 1
			merged = append(merged, r)
			continue
		}
		r.Count = merged[i].Count + 1
		merged[i] = r
	}
	// In one order, instance id, so that two batches that share instances
	// take their rows' locks in the same order and cannot deadlock (hot
	// writes run beside one another on PostgreSQL).
	slices.SortFunc(merged, func(a, b imgward.SnapshotRecord) int {
		return strings.Compare(string(a.InstanceID), string(b.InstanceID))
	})
	const insert = `INSERT INTO snapshots (instance_id, taken_at, received_at, source, body, count) `
	const upsert = ` ON CONFLICT (instance_id) DO UPDATE SET count = snapshots.count + excluded.count,
		body = excluded.body, source = excluded.source, received_at = excluded.received_at,
		taken_at = excluded.taken_at`
	if len(merged) == 0 {
		return nil
	}
	if t.d.Arrays {
		ids, taken, received := make([]string, len(merged)), make([]int64, len(merged)), make([]int64, len(merged))
		sources, bodies, counts := make([]string, len(merged)), make([]string, len(merged)), make([]int64, len(merged))
		for i, r := range merged {
			ids[i], taken[i], received[i] = string(r.InstanceID), micros(r.TakenAt), micros(r.ReceivedAt)
			sources[i], bodies[i], counts[i] = r.Source, string(r.Body), r.Count
		}
		return t.exec(ctx, op, insert+`SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[],
			$4::text[], $5::text[], $6::bigint[])`+upsert, ids, taken, received, sources, bodies, counts)
	}
	const cols = 6
	return t.chunks(len(merged), cols, func(lo, hi int) error {
		args := make([]any, 0, (hi-lo)*cols)
		for _, r := range merged[lo:hi] {
			args = append(args, string(r.InstanceID), micros(r.TakenAt), micros(r.ReceivedAt),
				r.Source, string(r.Body), r.Count)
		}
		return t.exec(ctx, op, insert+`VALUES `+t.placeholders(hi-lo, cols)+upsert, args...)
	})
}

func (t *tx) LatestSnapshots(ctx context.Context, after imgward.InstanceID, limit int) ([]imgward.SnapshotRecord, error) {
	const op = "LatestSnapshots"
	if limit < 0 {
		return nil, t.d.wrap(op, errors.E(errors.Invalid, errors.Msg("invalid limit")))
	}
	var q query
	stmt := `SELECT s.instance_id, s.taken_at, s.received_at, s.source, s.body, s.count, i.image_id,
		COALESCE(m.owner, '') FROM snapshots s JOIN instances i ON i.id = s.instance_id
		LEFT JOIN images m ON m.id = i.image_id
		WHERE i.state = ` + q.arg(string(imgward.InstanceRunning)) + ` AND s.instance_id > ` + q.arg(string(after)) +
		` ORDER BY s.instance_id`
	if limit > 0 {
		stmt += ` LIMIT ` + q.arg(limit)
	}
	recs := []imgward.SnapshotRecord{}
	err := t.list(ctx, op, stmt, q.args, func(r *sql.Rows) error {
		var s imgward.SnapshotRecord
		var body string
		err := r.Scan(&s.InstanceID, usec{&s.TakenAt}, usec{&s.ReceivedAt}, &s.Source, &body, &s.Count,
			&s.ImageID, &s.Publisher)
		s.Body = []byte(body)
		recs = append(recs, s)
		return err
	})
	return recs, err
}

func (t *tx) IdempotentResult(ctx context.Context, user imgward.UserID, key string) (*imgward.IdempotentRecord, error) {
	var rec imgward.IdempotentRecord
	err := t.queryRow(ctx, `SELECT result, body_hash FROM idempotency_keys WHERE user_id = $1 AND idem_key = $2`,
		string(user), key).Scan(&rec.Result, &rec.BodyHash)
	if err != nil {
		return nil, t.d.wrap("IdempotentResult", err)
	}
	return &rec, nil
}

func (t *tx) PutIdempotentResult(ctx context.Context, user imgward.UserID, key string, rec imgward.IdempotentRecord, at, expire time.Time) error {
	const op = "PutIdempotentResult"
	if err := t.exec(ctx, op, `DELETE FROM idempotency_keys WHERE created_at < $1`, micros(expire)); err != nil {
		return err
	}
	hash := rec.BodyHash
	if hash == nil {
		hash = []byte{} // NOT NULL: no hash is the empty one
	}
	return t.exec(ctx, op, `INSERT INTO idempotency_keys (user_id, idem_key, result, body_hash, created_at)
		VALUES ($1, $2, $3, $4, $5)`, string(user), key, rec.Result, hash, micros(at))
}
