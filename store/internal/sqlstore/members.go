package sqlstore

import (
	"context"
	"database/sql"

	"imgward"
)

// Members of shared images, and instances launched from images.

// CreateMember adds a member. The image must exist: the foreign key makes a
// member of an absent image an error of kind NotExist.
func (t *tx) CreateMember(ctx context.Context, m *imgward.Member) error {
	return t.exec(ctx, "CreateMember",
		`INSERT INTO members (image_id, member_id, status, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5)`,
		string(m.ImageID), string(m.MemberID), string(m.Status), micros(m.CreatedAt), micros(m.UpdatedAt))
}

const memberCols = `image_id, member_id, status, created_at, updated_at`

func scanMember(r interface{ Scan(...any) error }, m *imgward.Member) error {
	return r.Scan(memberDests(m)...)
}

// memberDests lists where memberCols scan to.
func memberDests(m *imgward.Member) []any {
	return []any{&m.ImageID, &m.MemberID, &m.Status, usec{&m.CreatedAt}, usec{&m.UpdatedAt}}
}

func (t *tx) Member(ctx context.Context, img imgward.ImageID, member imgward.ProjectID) (*imgward.Member, error) {
	var m imgward.Member
	row := t.queryRow(ctx,
		`SELECT `+memberCols+` FROM members WHERE image_id = $1 AND member_id = $2`,
		string(img), string(member))
	if err := scanMember(row, &m); err != nil {
		return nil, t.d.wrap("Member", err)
	}
	return &m, nil
}

func (t *tx) ListMembers(ctx context.Context, img imgward.ImageID) ([]imgward.Member, error) {
	ms := []imgward.Member{}
	err := t.list(ctx, "ListMembers",
		`SELECT `+memberCols+` FROM members WHERE image_id = $1 ORDER BY created_at, member_id`,
		[]any{string(img)}, func(r *sql.Rows) error {
			var m imgward.Member
			err := scanMember(r, &m)
			ms = append(ms, m)
			return err
		})
	return ms, err
}

// UpdateMember replaces the member's status and times.
func (t *tx) UpdateMember(ctx context.Context, m *imgward.Member) error {
	return t.execOne(ctx, "UpdateMember",
		`UPDATE members SET status = $3, created_at = $4, updated_at = $5
		WHERE image_id = $1 AND member_id = $2`,
		string(m.ImageID), string(m.MemberID), string(m.Status), micros(m.CreatedAt), micros(m.UpdatedAt))
}

func (t *tx) DeleteMember(ctx context.Context, img imgward.ImageID, member imgward.ProjectID) error {
	return t.execOne(ctx, "DeleteMember",
		`DELETE FROM members WHERE image_id = $1 AND member_id = $2`, string(img), string(member))
}

// Instances have no foreign key to their image: the record of a launch
// outlives the image it launched.

// CreateInstance may wait for the commit (execLater): a launch needs
// nothing of it but its error.
func (t *tx) CreateInstance(ctx context.Context, in *imgward.Instance) error {
	return t.execLater(ctx, "CreateInstance",
		`INSERT INTO instances (id, image_id, project_id, user_id, host, state, created_at, terminated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		string(in.ID), string(in.ImageID), string(in.ProjectID), string(in.UserID), in.Host,
		string(in.State), micros(in.CreatedAt), nullMicros(in.TerminatedAt))
}

const instanceCols = `id, image_id, project_id, user_id, host, state, created_at, terminated_at`

func scanInstance(r interface{ Scan(...any) error }, in *imgward.Instance) error {
	return r.Scan(instanceDests(in)...)
}

// instanceDests lists where instanceCols scan to.
func instanceDests(in *imgward.Instance) []any {
	return []any{&in.ID, &in.ImageID, &in.ProjectID, &in.UserID, &in.Host, &in.State,
		usec{&in.CreatedAt}, usec{&in.TerminatedAt}}
}

func (t *tx) Instance(ctx context.Context, id imgward.InstanceID) (*imgward.Instance, error) {
	var in imgward.Instance
	row := t.queryRow(ctx, `SELECT `+instanceCols+` FROM instances WHERE id = $1`, string(id))
	if err := scanInstance(row, &in); err != nil {
		return nil, t.d.wrap("Instance", err)
	}
	return &in, nil
}

func (t *tx) UpdateInstance(ctx context.Context, in *imgward.Instance) error {
	return t.execOne(ctx, "UpdateInstance",
		`UPDATE instances SET image_id = $2, project_id = $3, user_id = $4, host = $5, state = $6,
			created_at = $7, terminated_at = $8
		WHERE id = $1`,
		string(in.ID), string(in.ImageID), string(in.ProjectID), string(in.UserID), in.Host,
		string(in.State), micros(in.CreatedAt), nullMicros(in.TerminatedAt))
}

// ListInstances filters by the image's current owner for Publisher, so
// instances of a deleted image are no longer listed for its publisher.
func (t *tx) ListInstances(ctx context.Context, f imgward.InstanceFilter) ([]imgward.Instance, error) {
	var q query
	if f.ImageID != "" {
		q.and("image_id = " + q.arg(string(f.ImageID)))
	}
	if f.Publisher != "" {
		q.and("image_id IN (SELECT id FROM images WHERE owner = " + q.arg(string(f.Publisher)) + ")")
	}
	if f.ProjectID != "" {
		q.and("project_id = " + q.arg(string(f.ProjectID)))
	}
	if f.State != "" {
		q.and("state = " + q.arg(string(f.State)))
	}
	ins := []imgward.Instance{}
	err := t.list(ctx, "ListInstances",
		`SELECT `+instanceCols+` FROM instances`+q.whereClause()+` ORDER BY created_at DESC, id DESC`,
		q.args, func(r *sql.Rows) error {
			var in imgward.Instance
			err := scanInstance(r, &in)
			ins = append(ins, in)
			return err
		})
	return ins, err
}
