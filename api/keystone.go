package api

import (
	"context"
	"strings"

	"imgward"
	"imgward/catalog"
	"imgward/errors"
	"imgward/keystone"
)

// KeystoneRoles maps Keystone's roles on the token's project to imgward's
// role: Admin (default "admin") makes an imgward admin, Collector (default
// "imgward-collector") a collector, any other a member. Admin wins over
// Collector.
type KeystoneRoles struct {
	Admin, Collector string
}

// WithKeystone validates tokens against Keystone: a token that is not an
// imgward token (iwt_...) goes to v, and the caller it names is mapped by
// roles (catalog.FederatedPrincipal). imgward's own tokens keep working,
// so that the bootstrap admin and collectors need no Keystone account.
func WithKeystone(v *keystone.Validator, roles KeystoneRoles) Option {
	if roles.Admin == "" {
		roles.Admin = "admin"
	}
	if roles.Collector == "" {
		roles.Collector = "imgward-collector"
	}
	return func(s *Server) { s.keystone, s.roles = v, roles }
}

// authenticate returns the caller that token names.
func (s *Server) authenticate(ctx context.Context, token string) (imgward.Principal, error) {
	if s.keystone == nil || token == "" || strings.HasPrefix(token, catalog.TokenPrefix) {
		return s.cat.Authenticate(ctx, token)
	}
	id, err := s.keystone.Validate(ctx, token)
	if err != nil {
		if errors.Is(errors.Unauthenticated, err) {
			return imgward.Principal{}, errors.E("api.authenticate", errors.Unauthenticated, errors.Msg("missing or invalid token"), err)
		}
		return imgward.Principal{}, err
	}
	role := imgward.RoleMember
	switch {
	case id.HasRole(s.roles.Admin):
		role = imgward.RoleAdmin
	case id.HasRole(s.roles.Collector):
		role = imgward.RoleCollector
	}
	return s.cat.FederatedPrincipal(ctx, catalog.Federated{UserID: id.UserID, UserName: id.UserName,
		ProjectID: id.ProjectID, ProjectName: id.ProjectName, Role: role})
}
