package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"imgward"
	"imgward/errors"
)

// SetImageRole upserts the role, or deletes it when role is "".
func (t *tx) SetImageRole(ctx context.Context, img imgward.ImageID, role string) error {
	const op = "SetImageRole"
	if role == "" {
		return t.exec(ctx, op, `DELETE FROM image_roles WHERE image_id = $1`, string(img))
	}
	return t.exec(ctx, op, `INSERT INTO image_roles (image_id, role) VALUES ($1, $2)
		ON CONFLICT (image_id) DO UPDATE SET role = excluded.role`, string(img), role)
}

func (t *tx) ImageRoles(ctx context.Context) (map[imgward.ImageID]string, error) {
	m := map[imgward.ImageID]string{}
	err := t.list(ctx, "ImageRoles", `SELECT image_id, role FROM image_roles`, nil, func(r *sql.Rows) error {
		var id imgward.ImageID
		var role string
		err := r.Scan(&id, &role)
		m[id] = role
		return err
	})
	return m, err
}

func (t *tx) SetPublisherTrust(ctx context.Context, p imgward.ProjectID, trusted bool, at time.Time) error {
	const op = "SetPublisherTrust"
	if !trusted {
		return t.exec(ctx, op, `DELETE FROM publisher_trust WHERE project_id = $1`, string(p))
	}
	return t.exec(ctx, op, `INSERT INTO publisher_trust (project_id, updated_at) VALUES ($1, $2)
		ON CONFLICT (project_id) DO UPDATE SET updated_at = excluded.updated_at`, string(p), micros(at))
}

func (t *tx) TrustedPublishers(ctx context.Context) ([]imgward.ProjectID, error) {
	ps := []imgward.ProjectID{}
	err := t.list(ctx, "TrustedPublishers", `SELECT project_id FROM publisher_trust ORDER BY project_id`, nil,
		func(r *sql.Rows) error {
			var p imgward.ProjectID
			err := r.Scan(&p)
			ps = append(ps, p)
			return err
		})
	return ps, err
}

func (t *tx) PutBaseline(ctx context.Context, b *imgward.Baseline) error {
	const op = "PutBaseline"
	var last int
	if err := t.queryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM baselines WHERE role = $1`, b.Role).Scan(&last); err != nil {
		return t.d.wrap(op, err)
	}
	b.Version = last + 1
	return t.exec(ctx, op, `INSERT INTO baselines (role, version, detector, n_rows, created_at, model)
		VALUES ($1, $2, $3, $4, $5, $6)`, b.Role, b.Version, b.Detector, b.Rows, micros(b.CreatedAt), b.Model)
}

func (t *tx) baselines(ctx context.Context, op, stmt string, model bool) ([]imgward.Baseline, error) {
	bs := []imgward.Baseline{}
	err := t.list(ctx, op, stmt, nil, func(r *sql.Rows) error {
		var b imgward.Baseline
		dest := []any{&b.Role, &b.Version, &b.Detector, &b.Rows, usec{&b.CreatedAt}}
		if model {
			dest = append(dest, &b.Model)
		}
		err := r.Scan(dest...)
		bs = append(bs, b)
		return err
	})
	return bs, err
}

func (t *tx) LatestBaselines(ctx context.Context) ([]imgward.Baseline, error) {
	return t.baselines(ctx, "LatestBaselines", `SELECT role, version, detector, n_rows, created_at, model
		FROM baselines b WHERE version = (SELECT MAX(version) FROM baselines c WHERE c.role = b.role)
		ORDER BY role`, true)
}

func (t *tx) ListBaselines(ctx context.Context) ([]imgward.Baseline, error) {
	return t.baselines(ctx, "ListBaselines", `SELECT role, version, detector, n_rows, created_at
		FROM baselines ORDER BY role, version`, false)
}

const verdictCols = `kind, subject, score, threshold, instances, explanation, state, cleared_by, updated_at,
	uncapped, cleared_score`

func (t *tx) PutVerdict(ctx context.Context, v *imgward.Verdict) error {
	expl := string(v.Explanation)
	if expl == "" {
		expl = "null"
	}
	return t.exec(ctx, "PutVerdict", `INSERT INTO verdicts (`+verdictCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (kind, subject) DO UPDATE SET score = excluded.score, threshold = excluded.threshold,
		instances = excluded.instances, explanation = excluded.explanation, state = excluded.state,
		cleared_by = excluded.cleared_by, updated_at = excluded.updated_at,
		uncapped = excluded.uncapped, cleared_score = excluded.cleared_score`,
		string(v.Kind), v.Subject, v.Score, v.Threshold, v.Instances, expl, string(v.State),
		string(v.ClearedBy), micros(v.UpdatedAt), v.Uncapped, v.ClearedScore)
}

func scanVerdict(r interface{ Scan(...any) error }) (imgward.Verdict, error) {
	var v imgward.Verdict
	var expl string
	err := r.Scan(&v.Kind, &v.Subject, &v.Score, &v.Threshold, &v.Instances, &expl, &v.State,
		&v.ClearedBy, usec{&v.UpdatedAt}, &v.Uncapped, &v.ClearedScore)
	v.Explanation = []byte(expl)
	return v, err
}

func (t *tx) Verdict(ctx context.Context, kind imgward.VerdictKind, subject string) (*imgward.Verdict, error) {
	v, err := scanVerdict(t.queryRow(ctx, `SELECT `+verdictCols+` FROM verdicts WHERE kind = $1 AND subject = $2`,
		string(kind), subject))
	if err != nil {
		return nil, t.d.wrap("Verdict", err)
	}
	return &v, nil
}

func (t *tx) ListVerdicts(ctx context.Context, kind imgward.VerdictKind) ([]imgward.Verdict, error) {
	vs := []imgward.Verdict{}
	err := t.list(ctx, "ListVerdicts", `SELECT `+verdictCols+` FROM verdicts WHERE kind = $1
		ORDER BY score DESC, subject`, []any{string(kind)}, func(r *sql.Rows) error {
		v, err := scanVerdict(r)
		vs = append(vs, v)
		return err
	})
	return vs, err
}

func (t *tx) AppendEvent(ctx context.Context, e *imgward.Event) error {
	err := t.queryRow(ctx, `INSERT INTO events (project_id, kind, payload, created_at)
		VALUES ($1, $2, $3, $4) RETURNING id`,
		string(e.ProjectID), e.Kind, string(e.Payload), micros(e.CreatedAt)).Scan(&e.ID)
	return t.d.wrap("AppendEvent", err)
}

func (t *tx) ListEvents(ctx context.Context, project imgward.ProjectID, after int64, limit int) ([]imgward.Event, error) {
	const op = "ListEvents"
	if limit < 0 {
		return nil, t.d.wrap(op, errors.E(errors.Invalid, errors.Msg("invalid limit")))
	}
	var q query
	q.and("id > " + q.arg(after))
	if project != "" {
		q.and("project_id = " + q.arg(string(project)))
	}
	stmt := `SELECT id, project_id, kind, payload, created_at FROM events` + q.whereClause() + ` ORDER BY id`
	if limit > 0 {
		stmt += ` LIMIT ` + q.arg(limit)
	}
	es := []imgward.Event{}
	err := t.list(ctx, op, stmt, q.args, func(r *sql.Rows) error {
		var e imgward.Event
		var payload string
		err := r.Scan(&e.ID, &e.ProjectID, &e.Kind, &payload, usec{&e.CreatedAt})
		e.Payload = []byte(payload)
		es = append(es, e)
		return err
	})
	return es, err
}

func (t *tx) SetQuarantine(ctx context.Context, owner imgward.ProjectID, on bool) ([]imgward.ImageID, error) {
	const op = "SetQuarantine"
	ids := []imgward.ImageID{}
	err := t.list(ctx, op, `SELECT id FROM images WHERE owner = $1 ORDER BY id`, []any{string(owner)},
		func(r *sql.Rows) error {
			var id imgward.ImageID
			err := r.Scan(&id)
			ids = append(ids, id)
			return err
		})
	if err != nil {
		return nil, err
	}
	return ids, t.exec(ctx, op, `UPDATE images SET quarantined = $2 WHERE owner = $1`, string(owner), on)
}

func (t *tx) ImageQuarantined(ctx context.Context, id imgward.ImageID) (bool, error) {
	var q bool
	err := t.queryRow(ctx, `SELECT quarantined FROM images WHERE id = $1`, string(id)).Scan(&q)
	return q, t.d.wrap("ImageQuarantined", err)
}
