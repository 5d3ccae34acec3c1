package sqlstore

import (
	"context"
	"database/sql"
	"encoding/hex"
	"strings"
	"time"

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

// CreateUser keeps the hosts comma-separated: a host name holds no comma,
// and the list is read whole with the user, never searched in SQL. A
// u.TokenHash becomes the user's first token in the tokens table.
func (t *tx) CreateUser(ctx context.Context, u *imgward.User) error {
	for _, h := range u.Hosts {
		if h == "" || strings.Contains(h, ",") {
			return t.d.wrap("CreateUser", errors.E(errors.Invalid, errors.Errorf("invalid host %q", h)))
		}
	}
	err := t.exec(ctx, "CreateUser",
		`INSERT INTO users (id, name, project_id, role, created_at, hosts, disabled)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		string(u.ID), u.Name, string(u.ProjectID), string(u.Role), micros(u.CreatedAt),
		strings.Join(u.Hosts, ","), u.Disabled)
	if err != nil || len(u.TokenHash) == 0 {
		return err
	}
	return t.CreateToken(ctx, &imgward.Token{ID: TokenID(u.TokenHash), Hash: u.TokenHash, UserID: u.ID, CreatedAt: u.CreatedAt})
}

// TokenID names a token by the first 16 hex digits of its hash, as
// migration 0012 does for the tokens it moves.
func TokenID(h []byte) string {
	return hex.EncodeToString(h[:min(8, len(h))])
}

const userCols = `u.id, u.name, u.project_id, u.role, u.created_at, u.hosts, u.disabled`

func scanUser(r interface{ Scan(...any) error }, u *imgward.User, more ...any) error {
	var hosts string
	err := r.Scan(append(userDests(u, &hosts), more...)...)
	setHosts(u, hosts)
	return err
}

// userDests lists where userCols scan to, the hosts column to hosts, which
// setHosts then splits.
func userDests(u *imgward.User, hosts *string) []any {
	return []any{&u.ID, &u.Name, &u.ProjectID, &u.Role, usec{&u.CreatedAt}, hosts, &u.Disabled}
}

func setHosts(u *imgward.User, hosts string) {
	if hosts != "" {
		u.Hosts = strings.Split(hosts, ",")
	}
}

func (t *tx) User(ctx context.Context, id imgward.UserID) (*imgward.User, error) {
	var u imgward.User
	if err := scanUser(t.queryRow(ctx, `SELECT `+userCols+` FROM users u WHERE u.id = $1`, string(id)), &u); err != nil {
		return nil, t.d.wrap("User", err)
	}
	return &u, nil
}

// UserByTokenHash looks h up through the tokens' primary key, joined to the
// user's. The comparison in the database is not constant-time, but it
// compares hashes, not tokens: a timing leak tells an attacker about the
// SHA-256 of guesses, which does not help forge a token.
func (t *tx) UserByTokenHash(ctx context.Context, h []byte) (*imgward.User, *imgward.Token, error) {
	if len(h) == 0 {
		return nil, nil, t.d.wrap("UserByTokenHash", sql.ErrNoRows)
	}
	var u imgward.User
	var k imgward.Token
	row := t.queryRow(ctx, `SELECT `+userCols+`, k.id, k.hash, k.created_at, k.expires_at, k.revoked_at
		FROM tokens k JOIN users u ON u.id = k.user_id WHERE k.hash = $1`, h)
	err := scanUser(row, &u, &k.ID, &k.Hash, usec{&k.CreatedAt}, usec{&k.ExpiresAt}, usec{&k.RevokedAt})
	if err != nil {
		return nil, nil, t.d.wrap("UserByTokenHash", err)
	}
	k.UserID = u.ID
	u.TokenHash = k.Hash
	return &u, &k, nil
}

func (t *tx) ListUsers(ctx context.Context, project imgward.ProjectID) ([]imgward.User, error) {
	us := []imgward.User{}
	err := t.list(ctx, "ListUsers",
		`SELECT `+userCols+` FROM users u WHERE $1 = '' OR u.project_id = $1 ORDER BY u.created_at, u.id`,
		[]any{string(project)},
		func(r *sql.Rows) error {
			var u imgward.User
			err := scanUser(r, &u)
			us = append(us, u)
			return err
		})
	return us, err
}

func (t *tx) SetUserDisabled(ctx context.Context, id imgward.UserID, disabled bool) error {
	res, err := t.execContext(ctx, `UPDATE users SET disabled = $1 WHERE id = $2`, disabled, string(id))
	return t.affected("SetUserDisabled", res, err)
}

// affected turns an update that matched no row into NotExist.
func (t *tx) affected(op string, res sql.Result, err error) error {
	if err != nil {
		return t.d.wrap(op, err)
	}
	n, err := res.RowsAffected()
	if err == nil && n == 0 {
		err = sql.ErrNoRows
	}
	return t.d.wrap(op, err)
}

func (t *tx) CreateToken(ctx context.Context, k *imgward.Token) error {
	if len(k.Hash) == 0 || k.ID == "" {
		return t.d.wrap("CreateToken", errors.E(errors.Invalid, errors.Msg("token without hash or id")))
	}
	return t.exec(ctx, "CreateToken",
		`INSERT INTO tokens (hash, id, user_id, created_at, expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		k.Hash, k.ID, string(k.UserID), micros(k.CreatedAt), micros(k.ExpiresAt), micros(k.RevokedAt))
}

func (t *tx) ListTokens(ctx context.Context, user imgward.UserID) ([]imgward.Token, error) {
	ks := []imgward.Token{}
	err := t.list(ctx, "ListTokens",
		`SELECT id, hash, created_at, expires_at, revoked_at FROM tokens WHERE user_id = $1 ORDER BY created_at, id`,
		[]any{string(user)},
		func(r *sql.Rows) error {
			k := imgward.Token{UserID: user}
			err := r.Scan(&k.ID, &k.Hash, usec{&k.CreatedAt}, usec{&k.ExpiresAt}, usec{&k.RevokedAt})
			ks = append(ks, k)
			return err
		})
	return ks, err
}

func (t *tx) RevokeToken(ctx context.Context, user imgward.UserID, id string, at time.Time) error {
	res, err := t.execContext(ctx,
		`UPDATE tokens SET revoked_at = CASE WHEN revoked_at = 0 THEN $1 ELSE revoked_at END
		WHERE user_id = $2 AND id = $3`, micros(at), string(user), id)
	return t.affected("RevokeToken", res, err)
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
