package catalog_test

import (
	"context"
	"testing"
	"time"

	"imgward"
	"imgward/catalog"
	"imgward/errors"
)

// TestTokenLifecycle checks, at the catalog, when a token stops working:
// at its expiry exactly, at revocation, and while its user is disabled;
// and that disabling reaches users known through Keystone too.
func TestTokenLifecycle(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	clk, s, admin := e.clk, e.cat, e.admin
	pr, err := s.CreateProject(ctx, admin, "p")
	if err != nil {
		t.Fatal(err)
	}
	u, first, err := s.CreateUser(ctx, admin, "u", pr.ID, imgward.RoleMember, nil)
	if err != nil {
		t.Fatal(err)
	}
	k, short, err := s.CreateToken(ctx, admin, u.ID, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if k.ID != catalog.TokenID(catalog.HashToken(short)) || !k.ExpiresAt.Equal(clk.Now().Add(time.Minute)) {
		t.Errorf("CreateToken = %+v", k)
	}
	works := func(what, token string, want bool) {
		t.Helper()
		p, err := s.Authenticate(ctx, token)
		switch {
		case want && err != nil:
			t.Errorf("%s: %v", what, err)
		case want && p.UserID != u.ID:
			t.Errorf("%s: principal %+v, want user %s", what, p, u.ID)
		case !want && !errors.Is(errors.Unauthenticated, err):
			t.Errorf("%s: err %v, want Unauthenticated", what, err)
		}
	}
	works("a fresh token", short, true)
	clk.advance(time.Minute - time.Microsecond)
	works("a token just before its expiry", short, true)
	clk.advance(time.Microsecond)
	works("a token at its expiry", short, false)
	works("the first token", first, true)

	for _, c := range []struct {
		what string
		ttl  time.Duration
	}{{"negative", -time.Second}, {"beyond the bound", catalog.MaxTokenTTL + time.Second}} {
		if _, _, err := s.CreateToken(ctx, admin, u.ID, c.ttl); !errors.Is(errors.Invalid, err) {
			t.Errorf("CreateToken with a %s expiry: %v, want Invalid", c.what, err)
		}
	}

	if _, err := s.SetUserDisabled(ctx, admin, u.ID, true); err != nil {
		t.Fatal(err)
	}
	works("a disabled user's token", first, false)
	if _, err := s.SetUserDisabled(ctx, admin, u.ID, false); err != nil {
		t.Fatal(err)
	}
	works("an enabled user's token", first, true)
	ks, err := s.ListTokens(ctx, admin, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(ks) != 2 || ks[0].Hash != nil || ks[1].Hash != nil {
		t.Errorf("ListTokens = %+v, want 2 tokens without hashes", ks)
	}
	if _, err := s.RevokeToken(ctx, admin, u.ID, catalog.TokenID(catalog.HashToken(first))); err != nil {
		t.Fatal(err)
	}
	works("a revoked token", first, false)

	// A Keystone user, created on first use, is refused while disabled.
	f := catalog.Federated{UserID: "0123456789abcdef0123456789abcdef", UserName: "ks",
		ProjectID: "fedcba9876543210fedcba9876543210", ProjectName: "ksp", Role: imgward.RoleMember}
	if _, err := s.FederatedPrincipal(ctx, f); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetUserDisabled(ctx, admin, imgward.UserID(f.UserID), true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FederatedPrincipal(ctx, f); !errors.Is(errors.Unauthenticated, err) {
		t.Errorf("a disabled Keystone user: %v, want Unauthenticated", err)
	}
	if _, err := s.SetUserDisabled(ctx, admin, imgward.UserID(f.UserID), false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FederatedPrincipal(ctx, f); err != nil {
		t.Errorf("an enabled Keystone user: %v", err)
	}
}
