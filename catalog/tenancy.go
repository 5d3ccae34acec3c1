package catalog

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"imgward"
	"imgward/errors"
	"imgward/identity"
)

// TokenPrefix marks imgward tokens, so that a leaked one is recognisable by
// secret scanners, and tells them from Keystone's.
const TokenPrefix = "iwt_"

// maxTokenLen bounds what is hashed for a lookup.
const maxTokenLen = 256

// NewToken returns a fresh API token and the hash under which it is stored.
func NewToken() (token string, hash []byte) {
	token = TokenPrefix + randomHex(32)
	return token, HashToken(token)
}

// HashToken hashes a token for storage. Tokens carry 256 random bits, so a
// fast hash suffices: there is nothing to guess.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// Authenticate returns the principal that token belongs to. Any failure is
// errors.Unauthenticated, and says nothing of which check failed.
func (s *Service) Authenticate(ctx context.Context, token string) (imgward.Principal, error) {
	const op = "catalog.Authenticate"
	bad := errors.E(op, errors.Unauthenticated, errors.Msg("missing or invalid token"))
	if token == "" || len(token) > maxTokenLen {
		return imgward.Principal{}, bad
	}
	h := HashToken(token)
	var u *imgward.User
	var k *imgward.Token
	// One statement: no transaction needed (imgward.OneReader), which
	// saves two round trips on PostgreSQL before every request.
	err := imgward.ViewOne(ctx, s.store, func(tx imgward.Tx) error {
		var err error
		u, k, err = tx.UserByTokenHash(ctx, h)
		return err
	})
	if errors.Is(errors.NotExist, err) {
		return imgward.Principal{}, bad
	}
	if err != nil {
		return imgward.Principal{}, errors.E(op, err)
	}
	p, why, ok := tokenPrincipal(u, k, h, s.stamp())
	if !ok {
		return imgward.Principal{}, bad
	}
	// A known token refused is audited: its use after revocation or
	// expiry, or by a disabled user, is worth seeing. The caller learns
	// only that the token is not valid.
	if why != "" {
		return imgward.Principal{}, s.deny(ctx, p, "authenticate", tokenObject(u.ID, k.ID), why, bad)
	}
	return p, nil
}

// tokenPrincipal is the caller that token k of user u names, found by the
// token's hash h: ok false if k does not hash to h, and why says why a
// known token may not be used now, or "". The lookup went by hash; the
// hashes are compared again in constant time so that no store's index
// behaviour decides authentication.
func tokenPrincipal(u *imgward.User, k *imgward.Token, h []byte, now time.Time) (p imgward.Principal, why string, ok bool) {
	if subtle.ConstantTimeCompare(k.Hash, h) != 1 {
		return imgward.Principal{}, "", false
	}
	p = imgward.Principal{UserID: u.ID, ProjectID: u.ProjectID, Role: u.Role, Hosts: u.Hosts}
	return p, tokenRefusal(u, k, now), true
}

// tokenRefusal says why a known token may not be used now, or "".
func tokenRefusal(u *imgward.User, k *imgward.Token, now time.Time) string {
	switch {
	case u.Disabled:
		return "user disabled"
	case !k.RevokedAt.IsZero():
		return "token revoked"
	case !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt):
		return "token expired"
	}
	return ""
}

// Bootstrap creates the first admin, in a project named "admin", when the
// store has no admin yet. It returns the admin's token, shown only this once,
// or "" when an admin exists.
func (s *Service) Bootstrap(ctx context.Context) (string, error) {
	var token string
	err := s.store.Update(ctx, func(tx imgward.Tx) error {
		token = ""
		n, err := tx.CountAdmins(ctx)
		if err != nil || n > 0 {
			return err
		}
		now := s.stamp()
		p := &imgward.Project{ID: imgward.ProjectID(randomHex(16)), Name: "admin", CreatedAt: now}
		if err := tx.CreateProject(ctx, p); err != nil {
			return err
		}
		var h []byte
		token, h = NewToken()
		u := &imgward.User{ID: imgward.UserID(randomHex(16)), Name: "admin", ProjectID: p.ID,
			Role: imgward.RoleAdmin, TokenHash: h, CreatedAt: now}
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		return s.audit(ctx, tx, imgward.Principal{}, "user.bootstrap", "user/"+string(u.ID), "first admin")
	})
	if err != nil {
		return "", errors.E("catalog.Bootstrap", err)
	}
	return token, nil
}

func checkName(op, what, name string) error {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 255 || !utf8.ValidString(name) {
		return errors.E(op, errors.Invalid, errors.Msg(what+" must be 1 to 255 characters of UTF-8"))
	}
	if hasControl(name) {
		return errors.E(op, errors.Invalid, errors.Msg(what+" must not hold control characters"))
	}
	return nil
}

// hasControl reports whether s holds a control character (C0, DEL or C1):
// names are shown on terminals and in logs, where NUL and escape sequences
// would hide or forge text.
func hasControl(s string) bool {
	return strings.IndexFunc(s, unicode.IsControl) >= 0
}

func (s *Service) requireAdmin(ctx context.Context, p imgward.Principal, op, action, object string) error {
	if p.IsAdmin() {
		return nil
	}
	return s.deny(ctx, p, action, object, "admin role required",
		errors.E(op, errors.Permission, errors.Msg("this needs the admin role")))
}

// CreateProject creates a project (admin only).
func (s *Service) CreateProject(ctx context.Context, p imgward.Principal, name string) (*imgward.Project, error) {
	const op = "catalog.CreateProject"
	if err := s.requireAdmin(ctx, p, op, "project.create", "project"); err != nil {
		return nil, err
	}
	if err := checkName(op, "project name", name); err != nil {
		return nil, err
	}
	pr := &imgward.Project{ID: imgward.ProjectID(randomHex(16)), Name: strings.TrimSpace(name), CreatedAt: s.stamp()}
	err := s.store.Update(ctx, func(tx imgward.Tx) error {
		if err := tx.CreateProject(ctx, pr); err != nil {
			return err
		}
		return s.audit(ctx, tx, p, "project.create", "project/"+string(pr.ID), "")
	})
	if err != nil {
		return nil, errors.E(op, err)
	}
	return pr, nil
}

// Project returns a project. Any user may look a project up: its id is
// what appears as an image's owner.
func (s *Service) Project(ctx context.Context, p imgward.Principal, id imgward.ProjectID) (*imgward.Project, error) {
	var pr *imgward.Project
	err := s.store.View(ctx, func(tx imgward.Tx) error {
		var err error
		pr, err = tx.Project(ctx, id)
		return err
	})
	if err != nil {
		return nil, errors.E("catalog.Project", err)
	}
	return pr, nil
}

// ListProjects lists projects (admin only).
func (s *Service) ListProjects(ctx context.Context, p imgward.Principal) ([]imgward.Project, error) {
	const op = "catalog.ListProjects"
	if err := s.requireAdmin(ctx, p, op, "project.list", "project"); err != nil {
		return nil, err
	}
	var ps []imgward.Project
	err := s.store.View(ctx, func(tx imgward.Tx) error {
		var err error
		ps, err = tx.ListProjects(ctx)
		return err
	})
	if err != nil {
		return nil, errors.E(op, err)
	}
	return ps, nil
}

// CreateUser creates a user in a project (admin only) and returns it with
// its token, which is shown only this once. hosts binds a collector to the
// hypervisor hosts it may report for (see checkHosts); other roles take
// none.
func (s *Service) CreateUser(ctx context.Context, p imgward.Principal, name string, project imgward.ProjectID, role imgward.Role, hosts []string) (*imgward.User, string, error) {
	const op = "catalog.CreateUser"
	if err := s.requireAdmin(ctx, p, op, "user.create", "user"); err != nil {
		return nil, "", err
	}
	if err := checkName(op, "user name", name); err != nil {
		return nil, "", err
	}
	if role == "" {
		role = imgward.RoleMember
	}
	if role != imgward.RoleAdmin && role != imgward.RoleMember && role != imgward.RoleCollector {
		return nil, "", errors.E(op, errors.Invalid, errors.Msg(`role must be "admin", "member" or "collector"`))
	}
	hosts, err := checkHosts(op, role, hosts)
	if err != nil {
		return nil, "", err
	}
	token, h := NewToken()
	u := &imgward.User{ID: imgward.UserID(randomHex(16)), Name: strings.TrimSpace(name), ProjectID: project,
		Role: role, TokenHash: h, Hosts: hosts, CreatedAt: s.stamp()}
	err = s.store.Update(ctx, func(tx imgward.Tx) error {
		if _, err := tx.Project(ctx, project); errors.Is(errors.NotExist, err) {
			return errors.E(op, errors.Invalid, errors.Msg("no such project"))
		} else if err != nil {
			return err
		}
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		detail := "role " + string(role)
		if list := strings.Join(hosts, ","); len(list) > 512 {
			detail += ", " + strconv.Itoa(len(hosts)) + " hosts"
		} else if list != "" {
			detail += ", hosts " + list
		}
		return s.audit(ctx, tx, p, "user.create", "user/"+string(u.ID), detail)
	})
	if err != nil {
		return nil, "", errors.E(op, err)
	}
	return u, token, nil
}

// Publisher returns the publisher profile of a project; a project without
// one gets a profile named after the project, unverified.
func (s *Service) Publisher(ctx context.Context, p imgward.Principal, id imgward.ProjectID) (*imgward.Publisher, error) {
	var pub *imgward.Publisher
	err := s.store.View(ctx, func(tx imgward.Tx) error {
		pr, err := tx.Project(ctx, id)
		if err != nil {
			return err
		}
		pub, err = tx.Publisher(ctx, id)
		if errors.Is(errors.NotExist, err) {
			pub, err = &imgward.Publisher{ProjectID: id, DisplayName: pr.Name, UpdatedAt: pr.CreatedAt}, nil
		}
		return err
	})
	if err != nil {
		return nil, errors.E("catalog.Publisher", err)
	}
	return pub, nil
}

// PublisherUpdate is a change to a publisher profile; nil fields stay.
type PublisherUpdate struct {
	DisplayName *string
	Description *string
	Contact     *string
	Verified    *bool
}

// PutPublisher changes a publisher profile. The project's own users may
// change its name, description and contact; only an admin sets Verified,
// and a change by the project clears it, so that a verified name cannot be
// swapped for another after the fact.
func (s *Service) PutPublisher(ctx context.Context, p imgward.Principal, id imgward.ProjectID, u PublisherUpdate) (*imgward.Publisher, error) {
	const op = "catalog.PutPublisher"
	object := "publisher/" + string(id)
	if !p.IsAdmin() && p.ProjectID != id {
		return nil, s.deny(ctx, p, "publisher.update", object, "not a user of this project",
			errors.E(op, errors.Permission, errors.Msg("only the project's users or an admin may change its profile")))
	}
	if u.Verified != nil && !p.IsAdmin() {
		return nil, s.deny(ctx, p, "publisher.update", object, "verified flag needs admin",
			errors.E(op, errors.Permission, errors.Msg("only an admin may set verified")))
	}
	fields := []struct {
		name string
		v    *string
		max  int
	}{{"display_name", u.DisplayName, 255}, {"description", u.Description, 4096}, {"contact", u.Contact, 255}}
	for _, f := range fields {
		if f.v != nil && (len(*f.v) > f.max || !utf8.ValidString(*f.v)) {
			return nil, errors.E(op, errors.Invalid, errors.Msg(f.name+" is too long or not UTF-8"))
		}
	}
	if u.DisplayName != nil {
		if err := checkName(op, "display_name", *u.DisplayName); err != nil {
			return nil, err
		}
	}
	var pub *imgward.Publisher
	err := s.store.Update(ctx, func(tx imgward.Tx) error {
		pr, err := tx.Project(ctx, id)
		if err != nil {
			return err
		}
		pub, err = tx.Publisher(ctx, id)
		if errors.Is(errors.NotExist, err) {
			pub, err = &imgward.Publisher{ProjectID: id, DisplayName: pr.Name}, nil
		}
		if err != nil {
			return err
		}
		changed := false
		set := func(dst *string, v *string) {
			if v != nil && *v != *dst {
				*dst, changed = *v, true
			}
		}
		set(&pub.DisplayName, u.DisplayName)
		set(&pub.Description, u.Description)
		set(&pub.Contact, u.Contact)
		if changed && !p.IsAdmin() {
			pub.Verified = false
		}
		if u.Verified != nil {
			pub.Verified = *u.Verified
		}
		pub.UpdatedAt = s.stamp()
		if err := tx.PutPublisher(ctx, pub); err != nil {
			return err
		}
		detail := ""
		if u.Verified != nil {
			detail = "verified=" + map[bool]string{true: "true", false: "false"}[*u.Verified]
		}
		return s.audit(ctx, tx, p, "publisher.update", object, detail)
	})
	if err != nil {
		return nil, errors.E(op, err)
	}
	return pub, nil
}

// MaxCollectorHosts bounds the hosts of one collector.
const MaxCollectorHosts = 1024

// checkHosts validates a new user's hosts and returns them without
// duplicates, sorted. Only a collector takes hosts: what it may report is
// bound to them, so that a collector of one project cannot post snapshots
// of another's instances to steer their verdicts. A collector may be
// created without hosts (it then reports for none until recreated).
func checkHosts(op string, role imgward.Role, hosts []string) ([]string, error) {
	if len(hosts) == 0 {
		return nil, nil
	}
	if role != imgward.RoleCollector {
		return nil, errors.E(op, errors.Invalid, errors.Msg("hosts are for users of the collector role only"))
	}
	if len(hosts) > MaxCollectorHosts {
		return nil, errors.E(op, errors.Invalid, errors.Msg("at most "+strconv.Itoa(MaxCollectorHosts)+" hosts"))
	}
	for _, h := range hosts {
		if h == "" || !identity.ValidHost(h) {
			return nil, errors.E(op, errors.Invalid, errors.Msg(fmt.Sprintf("host %.64q is not a host name or address", h)))
		}
	}
	hosts = slices.Clone(hosts)
	slices.Sort(hosts)
	return slices.Compact(hosts), nil
}
