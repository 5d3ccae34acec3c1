package sqlstore

import (
	"context"
	"database/sql"
	"strings"

	"imgward"
	"imgward/errors"
)

// Projects, users and publishers: the accounts behind images.

func (t *tx) CreateProject(ctx context.Context, p *imgward.Project) error {
	return t.exec(ctx, "CreateProject",
		`INSERT INTO projects (id, name, created_at) VALUES ($1, $2, $3)`,
		string(p.ID), p.Name, micros(p.CreatedAt))
}

const projectCols = `id, name, created_at`

func scanProject(r interface{ Scan(...any) error }, p *imgward.Project) error {
	return r.Scan(&p.ID, &p.Name, usec{&p.CreatedAt})
}

func (t *tx) Project(ctx context.Context, id imgward.ProjectID) (*imgward.Project, error) {
	var p imgward.Project
	row := t.queryRow(ctx, `SELECT `+projectCols+` FROM projects WHERE id = $1`, string(id))
	if err := scanProject(row, &p); err != nil {
		return nil, t.d.wrap("Project", err)
	}
	return &p, nil
}

func (t *tx) ListProjects(ctx context.Context) ([]imgward.Project, error) {
	ps := []imgward.Project{}
	err := t.list(ctx, "ListProjects",
		`SELECT `+projectCols+` FROM projects ORDER BY created_at, id`, nil,
		func(r *sql.Rows) error {
			var p imgward.Project
			err := scanProject(r, &p)
			ps = append(ps, p)
			return err
		})
	return ps, err
}

// tokenHash stores an empty hash as NULL: users without a token share no
// key in the unique index, and no lookup can match them.
func tokenHash(h []byte) any {
	if len(h) == 0 {
		return nil
	}
	return h
}

// CreateUser keeps the hosts comma-separated: a host name holds no comma,
// and the list is read whole with the user, never searched in SQL.
func (t *tx) CreateUser(ctx context.Context, u *imgward.User) error {
	for _, h := range u.Hosts {
		if h == "" || strings.Contains(h, ",") {
			return t.d.wrap("CreateUser", errors.E(errors.Invalid, errors.Errorf("invalid host %q", h)))
		}
	}
	return t.exec(ctx, "CreateUser",
		`INSERT INTO users (id, name, project_id, role, token_hash, created_at, hosts)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		string(u.ID), u.Name, string(u.ProjectID), string(u.Role), tokenHash(u.TokenHash), micros(u.CreatedAt),
		strings.Join(u.Hosts, ","))
}

func (t *tx) user(ctx context.Context, op, where string, arg any) (*imgward.User, error) {
	var u imgward.User
	var hosts string
	err := t.queryRow(ctx,
		`SELECT id, name, project_id, role, token_hash, created_at, hosts FROM users WHERE `+where, arg).
		Scan(&u.ID, &u.Name, &u.ProjectID, &u.Role, &u.TokenHash, usec{&u.CreatedAt}, &hosts)
	if err != nil {
		return nil, t.d.wrap(op, err)
	}
	if hosts != "" {
		u.Hosts = strings.Split(hosts, ",")
	}
	return &u, nil
}

func (t *tx) User(ctx context.Context, id imgward.UserID) (*imgward.User, error) {
	return t.user(ctx, "User", `id = $1`, string(id))
}

// UserByTokenHash looks h up through the unique index. The comparison in
// the database is not constant-time, but it compares hashes, not tokens: a
// timing leak tells an attacker about the SHA-256 of guesses, which does not
// help forge a token.
func (t *tx) UserByTokenHash(ctx context.Context, h []byte) (*imgward.User, error) {
	if len(h) == 0 {
		return nil, t.d.wrap("UserByTokenHash", sql.ErrNoRows)
	}
	return t.user(ctx, "UserByTokenHash", `token_hash = $1`, h)
}

func (t *tx) CountAdmins(ctx context.Context) (int, error) {
	var n int
	err := t.queryRow(ctx, `SELECT count(*) FROM users WHERE role = $1`,
		string(imgward.RoleAdmin)).Scan(&n)
	return n, t.d.wrap("CountAdmins", err)
}

func (t *tx) PutPublisher(ctx context.Context, p *imgward.Publisher) error {
	return t.exec(ctx, "PutPublisher",
		`INSERT INTO publishers (project_id, display_name, description, contact, verified, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (project_id) DO UPDATE SET
			display_name = excluded.display_name, description = excluded.description,
			contact = excluded.contact, verified = excluded.verified, updated_at = excluded.updated_at`,
		string(p.ProjectID), p.DisplayName, p.Description, p.Contact, p.Verified, micros(p.UpdatedAt))
}

func (t *tx) Publisher(ctx context.Context, id imgward.ProjectID) (*imgward.Publisher, error) {
	var p imgward.Publisher
	err := t.queryRow(ctx,
		`SELECT project_id, display_name, description, contact, verified, updated_at
		FROM publishers WHERE project_id = $1`, string(id)).
		Scan(&p.ProjectID, &p.DisplayName, &p.Description, &p.Contact, &p.Verified, usec{&p.UpdatedAt})
	if err != nil {
		return nil, t.d.wrap("Publisher", err)
	}
	return &p, nil
}
