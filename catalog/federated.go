package catalog

import (
	"context"

	"imgward"
	"imgward/errors"
)

// Federated is a caller that an outside identity service (Keystone)
// vouched for: its user and the project its token is scoped to, with the
// role the service's roles map to.
type Federated struct {
	UserID, UserName       string
	ProjectID, ProjectName string
	Role                   imgward.Role
}

// maxFederatedID bounds the ids an identity service gives; Keystone's are
// 32 hex digits, or 64 characters for federated users.
const maxFederatedID = 64

// FederatedPrincipal returns the principal of a caller that an identity
// service authenticated. The project and user are created in the store the
// first time they are seen, under the service's ids, so that member lists
// name the ids the rest of the cloud uses; the creation is audited.
func (s *Service) FederatedPrincipal(ctx context.Context, f Federated) (imgward.Principal, error) {
	const op = "catalog.FederatedPrincipal"
	if !validFederatedID(f.UserID) || !validFederatedID(f.ProjectID) {
		return imgward.Principal{}, errors.E(op, errors.Unauthenticated, errors.Msg("the identity service gave an id imgward does not take"))
	}
	p := imgward.Principal{UserID: imgward.UserID(f.UserID), ProjectID: imgward.ProjectID(f.ProjectID), Role: f.Role}
	var u *imgward.User
	err := s.store.View(ctx, func(tx imgward.Tx) error {
		var err error
		u, err = tx.User(ctx, p.UserID)
		return err
	})
	if errors.Is(errors.NotExist, err) {
		u, err = s.createFederated(ctx, p, f)
	}
	if err != nil {
		return imgward.Principal{}, errors.E(op, err)
	}
	// An admin may disable a Keystone user in imgward too: it is refused
	// here at once, even while Keystone's answer for its token is cached.
	if u.Disabled {
		return imgward.Principal{}, s.deny(ctx, p, "authenticate", userObject(u.ID), "user disabled",
			errors.E(op, errors.Unauthenticated, errors.Msg("missing or invalid token")))
	}
	p.Hosts = u.Hosts
	return p, nil
}

// createFederated creates the project and user of f where missing.
func (s *Service) createFederated(ctx context.Context, p imgward.Principal, f Federated) (*imgward.User, error) {
	const op = "catalog.FederatedPrincipal"
	now := s.stamp()
	u := &imgward.User{ID: p.UserID, Name: federatedName(f.UserName, f.UserID), ProjectID: p.ProjectID,
		Role: p.Role, CreatedAt: now}
	err := s.store.Update(ctx, func(tx imgward.Tx) error {
		if got, err := tx.User(ctx, u.ID); err == nil { // another request was first
			u = got
			return nil
		}
		if _, err := tx.Project(ctx, p.ProjectID); errors.Is(errors.NotExist, err) {
			pr := &imgward.Project{ID: p.ProjectID, Name: federatedName(f.ProjectName, f.ProjectID), CreatedAt: now}
			if err := tx.CreateProject(ctx, pr); err != nil {
				return err
			}
			if err := s.audit(ctx, tx, p, "project.create", "project/"+string(pr.ID), "first seen through keystone"); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		return s.audit(ctx, tx, p, "user.create", "user/"+string(u.ID), "first seen through keystone, role "+string(u.Role))
	})
	if err != nil {
		return nil, errors.E(op, err)
	}
	return u, nil
}

// federatedName is name if imgward would take it as a name, else the id.
func federatedName(name, id string) string {
	if checkName("", "", name) != nil {
		return id
	}
	return name
}

func validFederatedID(id string) bool {
	if id == "" || len(id) > maxFederatedID {
		return false
	}
	for _, c := range id {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// WithExternalProjects says that projects belong to an identity service
// (Keystone): a member named by a project id imgward has not seen yet is
// recorded as a project, as Glance takes any project id, so that an owner
// can share with a project before anyone of it has called imgward.
func WithExternalProjects() Option { return func(s *Service) { s.external = true } }

// checkMemberProject checks that member names a project, recording it
// first when projects are external.
func (s *Service) checkMemberProject(ctx context.Context, tx imgward.Tx, p imgward.Principal, member imgward.ProjectID) error {
	const op = "catalog.AddMember"
	_, err := tx.Project(ctx, member)
	switch {
	case err == nil:
		return nil
	case !errors.Is(errors.NotExist, err):
		return err
	case !s.external:
		return errors.E(op, errors.Invalid, errors.Msg("member is not a project"))
	case !validFederatedID(string(member)):
		return errors.E(op, errors.Invalid, errors.Msg("member is not a project id"))
	}
	pr := &imgward.Project{ID: member, Name: string(member), CreatedAt: s.stamp()}
	if err := tx.CreateProject(ctx, pr); err != nil {
		return err
	}
	return s.audit(ctx, tx, p, "project.create", "project/"+string(member), "first named as a member")
}
