package storetest

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"imgward"
	"imgward/errors"
)

func testProjects(t *testing.T, s imgward.Store) {
	// Created out of order, with a tie in CreatedAt, to check the order
	// of the listing: by CreatedAt, then ID.
	ps := []imgward.Project{
		{ID: projectID(3), Name: "three", CreatedAt: at(1)},
		{ID: projectID(2), Name: "two", CreatedAt: at(1)},
		{ID: projectID(1), Name: "one", CreatedAt: at(0)},
	}
	update(t, s, func(tx imgward.Tx) error {
		for i := range ps {
			if err := tx.CreateProject(ctx(t), &ps[i]); err != nil {
				return err
			}
		}
		return nil
	})
	err := s.Update(ctx(t), func(tx imgward.Tx) error {
		return tx.CreateProject(ctx(t), &imgward.Project{ID: projectID(1), Name: "again"})
	})
	wantKind(t, "CreateProject of a taken id", err, errors.Exist)

	view(t, s, func(tx imgward.Tx) error {
		got, err := tx.Project(ctx(t), projectID(2))
		if err != nil {
			return err
		}
		if diff := cmp.Diff(&ps[1], got); diff != "" {
			t.Errorf("Project (-want +got):\n%s", diff)
		}
		_, err = tx.Project(ctx(t), projectID(9))
		wantKind(t, "Project of an absent id", err, errors.NotExist)

		list, err := tx.ListProjects(ctx(t))
		if err != nil {
			return err
		}
		want := []imgward.Project{ps[2], ps[1], ps[0]}
		if diff := cmp.Diff(want, list); diff != "" {
			t.Errorf("ListProjects (-want +got):\n%s", diff)
		}
		return nil
	})
}

func testUsers(t *testing.T, s imgward.Store) {
	users := []imgward.User{
		{ID: userID(1), Name: "alice", ProjectID: projectID(1), Role: imgward.RoleAdmin,
			TokenHash: tokenHash("alice"), CreatedAt: at(0)},
		{ID: userID(2), Name: "bob", ProjectID: projectID(1), Role: imgward.RoleMember,
			TokenHash: tokenHash("bob"), CreatedAt: at(1)},
		{ID: userID(3), Name: "carol", ProjectID: projectID(2), Role: imgward.RoleAdmin,
			TokenHash: tokenHash("carol"), CreatedAt: at(2)},
		// Users without a token do not collide in the token index.
		{ID: userID(4), Name: "svc1", ProjectID: projectID(2), Role: imgward.RoleMember, CreatedAt: at(3)},
		{ID: userID(5), Name: "svc2", ProjectID: projectID(2), Role: imgward.RoleMember, CreatedAt: at(4)},
		// A collector keeps its hosts, in order; one without hosts has none.
		{ID: userID(6), Name: "col1", ProjectID: projectID(2), Role: imgward.RoleCollector,
			TokenHash: tokenHash("col1"), Hosts: []string{"hv-1", "hv-2.example.org", "10.0.0.7"}, CreatedAt: at(5)},
		{ID: userID(7), Name: "col2", ProjectID: projectID(2), Role: imgward.RoleCollector,
			TokenHash: tokenHash("col2"), CreatedAt: at(6)},
	}
	update(t, s, func(tx imgward.Tx) error {
		for i := range users {
			if err := tx.CreateUser(ctx(t), &users[i]); err != nil {
				return err
			}
		}
		return nil
	})
	dups := map[string]imgward.User{
		"taken id":         {ID: userID(1), Name: "x", ProjectID: projectID(1), Role: imgward.RoleMember},
		"taken token hash": {ID: userID(9), Name: "x", ProjectID: projectID(1), Role: imgward.RoleMember, TokenHash: tokenHash("bob")},
	}
	for what, u := range dups {
		err := s.Update(ctx(t), func(tx imgward.Tx) error { return tx.CreateUser(ctx(t), &u) })
		wantKind(t, "CreateUser of a "+what, err, errors.Exist)
		secretInError(t, err, u.TokenHash)
	}
	// A host that the stored list could not keep apart is refused.
	for _, hosts := range [][]string{{"a,b"}, {""}} {
		u := imgward.User{ID: userID(8), Name: "x", ProjectID: projectID(1), Role: imgward.RoleCollector, Hosts: hosts}
		err := s.Update(ctx(t), func(tx imgward.Tx) error { return tx.CreateUser(ctx(t), &u) })
		wantKind(t, fmt.Sprintf("CreateUser with hosts %q", hosts), err, errors.Invalid)
	}

	view(t, s, func(tx imgward.Tx) error {
		for _, want := range users {
			got, err := tx.User(ctx(t), want.ID)
			if err != nil {
				return err
			}
			// The token lives in the tokens table: User does not carry it.
			noToken := want
			noToken.TokenHash = nil
			if diff := cmp.Diff(&noToken, got, cmp.Comparer(equalBytes)); diff != "" {
				t.Errorf("User %s (-want +got):\n%s", want.Name, diff)
			}
			if want.TokenHash == nil {
				continue
			}
			got, tok, err := tx.UserByTokenHash(ctx(t), want.TokenHash)
			if err != nil {
				return err
			}
			if diff := cmp.Diff(&want, got, cmp.Comparer(equalBytes)); diff != "" {
				t.Errorf("UserByTokenHash(hash of %s) (-want +got):\n%s", want.Name, diff)
			}
			wantTok := &imgward.Token{ID: hex.EncodeToString(want.TokenHash[:8]), Hash: want.TokenHash,
				UserID: want.ID, CreatedAt: want.CreatedAt}
			if diff := cmp.Diff(wantTok, tok); diff != "" {
				t.Errorf("UserByTokenHash(hash of %s) token (-want +got):\n%s", want.Name, diff)
			}
		}
		all, err := tx.ListUsers(ctx(t), "")
		if err != nil {
			return err
		}
		if len(all) != len(users) {
			t.Errorf("ListUsers(all) has %d users, want %d", len(all), len(users))
		}
		two, err := tx.ListUsers(ctx(t), projectID(2))
		if err != nil {
			return err
		}
		var names []string
		for _, u := range two {
			names = append(names, u.Name)
		}
		if want := []string{"carol", "svc1", "svc2", "col1", "col2"}; !cmp.Equal(names, want) {
			t.Errorf("ListUsers(project 2) = %q, want %q", names, want)
		}
		if none, err := tx.ListUsers(ctx(t), projectID(9)); err != nil || len(none) != 0 {
			t.Errorf("ListUsers(absent project) = %v, %v; want none", none, err)
		}
		_, err = tx.User(ctx(t), userID(9))
		wantKind(t, "User of an absent id", err, errors.NotExist)
		for _, h := range [][]byte{tokenHash("mallory"), nil, {}} {
			_, _, err = tx.UserByTokenHash(ctx(t), h)
			wantKind(t, "UserByTokenHash of an unknown hash", err, errors.NotExist)
			secretInError(t, err, h)
		}
		n, err := tx.CountAdmins(ctx(t))
		if err != nil {
			return err
		}
		if n != 2 {
			t.Errorf("CountAdmins = %d, want 2", n)
		}
		return nil
	})
}

func testTokens(t *testing.T, s imgward.Store) {
	alice := imgward.User{ID: userID(1), Name: "alice", ProjectID: projectID(1), Role: imgward.RoleMember,
		TokenHash: tokenHash("alice-1"), CreatedAt: at(0)}
	bob := imgward.User{ID: userID(2), Name: "bob", ProjectID: projectID(1), Role: imgward.RoleMember, CreatedAt: at(1)}
	toks := []imgward.Token{
		{ID: "b", Hash: tokenHash("alice-2"), UserID: alice.ID, CreatedAt: at(5), ExpiresAt: at(100)},
		{ID: "a", Hash: tokenHash("alice-3"), UserID: alice.ID, CreatedAt: at(5)},
		{ID: "c", Hash: tokenHash("bob-1"), UserID: bob.ID, CreatedAt: at(2)},
	}
	update(t, s, func(tx imgward.Tx) error {
		for _, u := range []*imgward.User{&alice, &bob} {
			if err := tx.CreateUser(ctx(t), u); err != nil {
				return err
			}
		}
		for i := range toks {
			if err := tx.CreateToken(ctx(t), &toks[i]); err != nil {
				return err
			}
		}
		return nil
	})
	dups := map[string]imgward.Token{
		"taken hash": {ID: "z", Hash: tokenHash("alice-2"), UserID: bob.ID, CreatedAt: at(9)},
		"taken id":   {ID: "a", Hash: tokenHash("new"), UserID: bob.ID, CreatedAt: at(9)},
	}
	for what, k := range dups {
		err := s.Update(ctx(t), func(tx imgward.Tx) error { return tx.CreateToken(ctx(t), &k) })
		wantKind(t, "CreateToken of a "+what, err, errors.Exist)
		secretInError(t, err, k.Hash)
	}
	err := s.Update(ctx(t), func(tx imgward.Tx) error {
		return tx.CreateToken(ctx(t), &imgward.Token{ID: "n", UserID: bob.ID})
	})
	wantKind(t, "CreateToken without a hash", err, errors.Invalid)

	first := imgward.Token{ID: hex.EncodeToString(alice.TokenHash[:8]), Hash: alice.TokenHash, UserID: alice.ID, CreatedAt: at(0)}
	listTokens := func(what string, user imgward.UserID, want []imgward.Token) {
		t.Helper()
		view(t, s, func(tx imgward.Tx) error {
			got, err := tx.ListTokens(ctx(t), user)
			if err != nil {
				return err
			}
			if diff := cmp.Diff(want, got, cmp.Comparer(equalBytes)); diff != "" {
				t.Errorf("ListTokens %s (-want +got):\n%s", what, diff)
			}
			return nil
		})
	}
	// By creation, then id: "a" before "b" at the same time.
	listTokens("of alice", alice.ID, []imgward.Token{first, toks[1], toks[0]})
	listTokens("of nobody", userID(9), []imgward.Token{})

	// Revoking keeps the first time; another user's token is not found.
	update(t, s, func(tx imgward.Tx) error {
		if err := tx.RevokeToken(ctx(t), alice.ID, "a", at(50)); err != nil {
			return err
		}
		return tx.RevokeToken(ctx(t), alice.ID, "a", at(60))
	})
	for what, c := range map[string]struct {
		user imgward.UserID
		id   string
	}{"of another user": {bob.ID, "a"}, "absent": {alice.ID, "zz"}} {
		err := s.Update(ctx(t), func(tx imgward.Tx) error { return tx.RevokeToken(ctx(t), c.user, c.id, at(70)) })
		wantKind(t, "RevokeToken "+what, err, errors.NotExist)
	}
	revoked := toks[1]
	revoked.RevokedAt = at(50)
	listTokens("after a revocation", alice.ID, []imgward.Token{first, revoked, toks[0]})

	// Disabling shows in every lookup of the user, and is undone.
	for _, disabled := range []bool{true, false} {
		update(t, s, func(tx imgward.Tx) error { return tx.SetUserDisabled(ctx(t), bob.ID, disabled) })
		view(t, s, func(tx imgward.Tx) error {
			u, err := tx.User(ctx(t), bob.ID)
			if err != nil {
				return err
			}
			byTok, tok, err := tx.UserByTokenHash(ctx(t), tokenHash("bob-1"))
			if err != nil {
				return err
			}
			list, err := tx.ListUsers(ctx(t), projectID(1))
			if err != nil {
				return err
			}
			if u.Disabled != disabled || byTok.Disabled != disabled || len(list) != 2 || list[1].Disabled != disabled {
				t.Errorf("after SetUserDisabled(%v): User %v, UserByTokenHash %v, ListUsers %v", disabled, u.Disabled, byTok.Disabled, list)
			}
			if tok.ID != "c" {
				t.Errorf("UserByTokenHash(bob-1) token %q, want c", tok.ID)
			}
			// A revoked token is still found: the caller refuses it.
			_, tok, err = tx.UserByTokenHash(ctx(t), tokenHash("alice-3"))
			if err != nil || !tok.RevokedAt.Equal(at(50)) {
				t.Errorf("UserByTokenHash(revoked) = %+v, %v", tok, err)
			}
			return nil
		})
	}
	err = s.Update(ctx(t), func(tx imgward.Tx) error { return tx.SetUserDisabled(ctx(t), userID(9), true) })
	wantKind(t, "SetUserDisabled of an absent user", err, errors.NotExist)
}

// equalBytes treats nil and empty as equal: a store may return either for
// a user without a token.
func equalBytes(a, b []byte) bool { return string(a) == string(b) }

// secretInError fails the test if err's message shows the token hash h.
func secretInError(t *testing.T, err error, h []byte) {
	t.Helper()
	if err == nil || len(h) == 0 {
		return
	}
	msg := err.Error()
	if strings.Contains(msg, hex.EncodeToString(h)) || strings.Contains(msg, string(h)) ||
		strings.Contains(strings.ToLower(msg), strings.ToLower(hex.EncodeToString(h[:8]))) {
		t.Errorf("error message shows the token hash: %s", msg)
	}
}

func testPublishers(t *testing.T, s imgward.Store) {
	p := imgward.Publisher{ProjectID: projectID(1), DisplayName: "ACME", Description: "images",
		Contact: "ops@acme.example", Verified: true, UpdatedAt: at(0)}
	update(t, s, func(tx imgward.Tx) error { return tx.PutPublisher(ctx(t), &p) })
	// A second Put replaces every field, Verified included.
	p2 := imgward.Publisher{ProjectID: projectID(1), DisplayName: "ACME Corp", Description: "",
		Contact: "sec@acme.example", Verified: false, UpdatedAt: at(5)}
	update(t, s, func(tx imgward.Tx) error { return tx.PutPublisher(ctx(t), &p2) })
	view(t, s, func(tx imgward.Tx) error {
		got, err := tx.Publisher(ctx(t), projectID(1))
		if err != nil {
			return err
		}
		if diff := cmp.Diff(&p2, got); diff != "" {
			t.Errorf("Publisher after second Put (-want +got):\n%s", diff)
		}
		_, err = tx.Publisher(ctx(t), projectID(2))
		wantKind(t, "Publisher of an absent project", err, errors.NotExist)
		return nil
	})
}
