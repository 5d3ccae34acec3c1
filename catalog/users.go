package catalog

import (
	"context"
	"encoding/hex"
	"strings"
	"time"

	"imgward"
	"imgward/errors"
)

// The lifecycle of users and their tokens (issue 12, part 4): listing,
// disabling, and several tokens per user, each revocable and with an
// optional expiry. All of it needs the admin role, as creating users does.

// MaxTokenTTL bounds a token's lifetime when one is asked for: an expiry
// far beyond it is more likely a mistake in units than an intent.
const MaxTokenTTL = 10 * 365 * 24 * time.Hour

func userObject(id imgward.UserID) string { return "user/" + string(id) }

func tokenObject(u imgward.UserID, id string) string { return "user/" + string(u) + "/token/" + id }

// TokenID names a token by the first 16 hex digits of its SHA-256, as the
// store and migration 0012 do: a name to list and revoke it by that tells
// nothing of the secret, and that a holder of the token can compute.
func TokenID(hash []byte) string { return hex.EncodeToString(hash[:8]) }

// validTokenID reports whether id has the form TokenID gives.
func validTokenID(id string) bool {
	if len(id) != 16 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil && strings.ToLower(id) == id
}

// ListUsers lists the users of project, or of all projects when project is
// "" (admin only).
func (s *Service) ListUsers(ctx context.Context, p imgward.Principal, project imgward.ProjectID) ([]imgward.User, error) {
	const op = "catalog.ListUsers"
	if err := s.requireAdmin(ctx, p, op, "user.list", "user"); err != nil {
		return nil, err
	}
	var us []imgward.User
	err := s.store.View(ctx, func(tx imgward.Tx) error {
		var err error
		us, err = tx.ListUsers(ctx, project)
		return err
	})
	if err != nil {
		return nil, errors.E(op, err)
	}
	return us, nil
}

// SetUserDisabled disables or enables a user (admin only). A disabled
// user's tokens are refused from the next request on: Authenticate reads
// the flag with the token. An admin may not disable itself, so that the
// last admin cannot lock everyone out by mistake.
func (s *Service) SetUserDisabled(ctx context.Context, p imgward.Principal, id imgward.UserID, disabled bool) (*imgward.User, error) {
	const op = "catalog.SetUserDisabled"
	action := map[bool]string{true: "user.disable", false: "user.enable"}[disabled]
	if err := s.requireAdmin(ctx, p, op, action, userObject(id)); err != nil {
		return nil, err
	}
	if disabled && id == p.UserID {
		return nil, errors.E(op, errors.Invalid, errors.Msg("an admin may not disable itself"))
	}
	var u *imgward.User
	err := s.store.Update(ctx, func(tx imgward.Tx) error {
		if err := tx.SetUserDisabled(ctx, id, disabled); err != nil {
			return err
		}
		var err error
		if u, err = tx.User(ctx, id); err != nil {
			return err
		}
		return s.audit(ctx, tx, p, action, userObject(id), "")
	})
	if err != nil {
		return nil, errors.E(op, err)
	}
	return u, nil
}

// CreateToken issues a new token for a user (admin only) and returns it,
// shown only this once. ttl 0 means the token does not expire.
func (s *Service) CreateToken(ctx context.Context, p imgward.Principal, user imgward.UserID, ttl time.Duration) (*imgward.Token, string, error) {
	const op = "catalog.CreateToken"
	if err := s.requireAdmin(ctx, p, op, "token.create", userObject(user)); err != nil {
		return nil, "", err
	}
	if ttl < 0 || ttl > MaxTokenTTL {
		return nil, "", errors.E(op, errors.Invalid, errors.Msg("expiry must be positive and at most 87600h (10 years)"))
	}
	token, h := NewToken()
	now := s.stamp()
	k := &imgward.Token{ID: TokenID(h), Hash: h, UserID: user, CreatedAt: now}
	detail := "no expiry"
	if ttl > 0 {
		k.ExpiresAt = now.Add(ttl)
		detail = "expires " + k.ExpiresAt.Format(time.RFC3339)
	}
	err := s.store.Update(ctx, func(tx imgward.Tx) error {
		if _, err := tx.User(ctx, user); err != nil {
			return err
		}
		if err := tx.CreateToken(ctx, k); err != nil {
			return err
		}
		return s.audit(ctx, tx, p, "token.create", tokenObject(user, k.ID), detail)
	})
	if err != nil {
		return nil, "", errors.E(op, err)
	}
	return k, token, nil
}

// ListTokens lists a user's tokens, revoked and expired ones included
// (admin only). The hashes are cleared: only ids leave the service.
func (s *Service) ListTokens(ctx context.Context, p imgward.Principal, user imgward.UserID) ([]imgward.Token, error) {
	const op = "catalog.ListTokens"
	if err := s.requireAdmin(ctx, p, op, "token.list", userObject(user)); err != nil {
		return nil, err
	}
	var ks []imgward.Token
	err := s.store.View(ctx, func(tx imgward.Tx) error {
		if _, err := tx.User(ctx, user); err != nil {
			return err
		}
		var err error
		ks, err = tx.ListTokens(ctx, user)
		return err
	})
	if err != nil {
		return nil, errors.E(op, err)
	}
	for i := range ks {
		ks[i].Hash = nil
	}
	return ks, nil
}

// RevokeToken revokes one of a user's tokens (admin only) and returns it;
// it is refused from the next request on. Revoking a revoked token keeps
// its first revocation time.
func (s *Service) RevokeToken(ctx context.Context, p imgward.Principal, user imgward.UserID, id string) (*imgward.Token, error) {
	const op = "catalog.RevokeToken"
	if err := s.requireAdmin(ctx, p, op, "token.revoke", userObject(user)); err != nil {
		return nil, err
	}
	if !validTokenID(id) {
		return nil, errors.E(op, errors.Invalid, errors.Msg("a token id is 16 lower-case hex digits"))
	}
	var k *imgward.Token
	err := s.store.Update(ctx, func(tx imgward.Tx) error {
		if err := tx.RevokeToken(ctx, user, id, s.stamp()); err != nil {
			return err
		}
		ks, err := tx.ListTokens(ctx, user)
		if err != nil {
			return err
		}
		for i := range ks {
			if ks[i].ID == id {
				k = &ks[i]
				k.Hash = nil
			}
		}
		return s.audit(ctx, tx, p, "token.revoke", tokenObject(user, id), "")
	})
	if err != nil {
		return nil, errors.E(op, err)
	}
	return k, nil
}
