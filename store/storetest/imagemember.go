package storetest

import (
	"encoding/hex"
	"testing"

	"github.com/google/go-cmp/cmp"

	"imgward"
	"imgward/errors"
)

// testImageMember checks that Tx.ImageMember reads in one statement what
// Image and Member read one by one: for an accepted and a pending member,
// a stranger, the owner, and an image with a product code.
func testImageMember(t *testing.T, s imgward.Store) {
	owner, accepted, pending, stranger := projectID(1), projectID(2), projectID(3), projectID(4)
	update(t, s, func(tx imgward.Tx) error {
		for _, img := range []*imgward.Image{newImage(1, owner, imgward.Shared, at(0)), newImage(2, owner, imgward.Public, at(0))} {
			if err := tx.CreateImage(ctx(t), img); err != nil {
				return err
			}
		}
		for _, m := range []imgward.Member{
			{ImageID: imageID(1), MemberID: accepted, Status: imgward.MemberAccepted, CreatedAt: at(1), UpdatedAt: at(2)},
			{ImageID: imageID(1), MemberID: pending, Status: imgward.MemberPending, CreatedAt: at(3), UpdatedAt: at(3)},
			{ImageID: imageID(2), MemberID: stranger, Status: imgward.MemberAccepted, CreatedAt: at(4), UpdatedAt: at(5)},
		} {
			if err := tx.CreateMember(ctx(t), &m); err != nil {
				return err
			}
		}
		return tx.SetProductCode(ctx(t), imageID(2), "c0de")
	})
	tests := []struct {
		name    string
		image   imgward.ImageID
		project imgward.ProjectID
		member  bool
	}{
		{"accepted member", imageID(1), accepted, true},
		{"pending member", imageID(1), pending, true},
		{"stranger", imageID(1), stranger, false},
		{"owner", imageID(1), owner, false},
		{"member of an image with a product code", imageID(2), stranger, true},
		{"not a member of it", imageID(2), accepted, false},
	}
	for _, tt := range tests {
		view(t, s, func(tx imgward.Tx) error {
			want, err := tx.Image(ctx(t), tt.image)
			if err != nil {
				return err
			}
			var wantM *imgward.Member
			if tt.member {
				if wantM, err = tx.Member(ctx(t), tt.image, tt.project); err != nil {
					return err
				}
			}
			img, m, err := tx.ImageMember(ctx(t), tt.image, tt.project)
			if err != nil {
				t.Errorf("%s: ImageMember: %v", tt.name, err)
				return nil
			}
			if diff := cmp.Diff(want, img); diff != "" {
				t.Errorf("%s: ImageMember's image (-want +got):\n%s", tt.name, diff)
			}
			if diff := cmp.Diff(wantM, m); diff != "" {
				t.Errorf("%s: ImageMember's member (-want +got):\n%s", tt.name, diff)
			}
			return nil
		})
	}
	view(t, s, func(tx imgward.Tx) error {
		_, _, err := tx.ImageMember(ctx(t), imageID(9), accepted)
		wantKind(t, "ImageMember of an absent image", err, errors.NotExist)
		return nil
	})
}

// testTokenImageMember checks that Tx.TokenImageMember reads in one
// statement what UserByTokenHash and ImageMember read one by one, as the
// first statement of a hot write (where PostgreSQL sends it with the
// begin) and in a View; and that it finds nothing when the token or the
// image is absent. A revoked token is returned like the others: the
// caller decides.
func testTokenImageMember(t *testing.T, s imgward.Store) {
	owner, accepted, pending, stranger := projectID(1), projectID(2), projectID(3), projectID(4)
	users := map[imgward.ProjectID]imgward.UserID{owner: userID(1), accepted: userID(2), pending: userID(3), stranger: userID(4)}
	update(t, s, func(tx imgward.Tx) error {
		for p, u := range users {
			if err := tx.CreateUser(ctx(t), &imgward.User{ID: u, Name: "user-" + string(u), ProjectID: p,
				Role: imgward.RoleMember, TokenHash: tokenHash(string(u)), CreatedAt: at(0)}); err != nil {
				return err
			}
		}
		if err := tx.RevokeToken(ctx(t), users[pending], hex.EncodeToString(tokenHash(string(users[pending]))[:8]), at(1)); err != nil {
			return err
		}
		img := newImage(1, owner, imgward.Shared, at(0))
		if err := tx.CreateImage(ctx(t), img); err != nil {
			return err
		}
		for _, m := range []imgward.Member{
			{ImageID: imageID(1), MemberID: accepted, Status: imgward.MemberAccepted, CreatedAt: at(1), UpdatedAt: at(2)},
			{ImageID: imageID(1), MemberID: pending, Status: imgward.MemberPending, CreatedAt: at(3), UpdatedAt: at(3)},
		} {
			if err := tx.CreateMember(ctx(t), &m); err != nil {
				return err
			}
		}
		return tx.SetProductCode(ctx(t), imageID(1), "c0de")
	})
	// check compares TokenImageMember with the reads one by one.
	check := func(tx imgward.Tx, name string, h []byte, id imgward.ImageID) error {
		wantU, wantK, err := tx.UserByTokenHash(ctx(t), h)
		if err != nil {
			return err
		}
		wantImg, wantM, err := tx.ImageMember(ctx(t), id, wantU.ProjectID)
		if err != nil {
			return err
		}
		u, k, img, m, err := tx.TokenImageMember(ctx(t), h, id)
		if err != nil {
			t.Errorf("%s: TokenImageMember: %v", name, err)
			return nil
		}
		for what, diff := range map[string]string{
			"user": cmp.Diff(wantU, u, cmp.Comparer(equalBytes)), "token": cmp.Diff(wantK, k, cmp.Comparer(equalBytes)),
			"image": cmp.Diff(wantImg, img), "member": cmp.Diff(wantM, m),
		} {
			if diff != "" {
				t.Errorf("%s: TokenImageMember's %s (-one by one +together):\n%s", name, what, diff)
			}
		}
		return nil
	}
	for p, u := range users {
		name := "user of project " + string(p)
		h := tokenHash(string(u))
		// First in a hot write: TokenImageMember, then the reads alone.
		if err := imgward.UpdateHot(ctx(t), s, func(tx imgward.Tx) error {
			u, _, _, _, err := tx.TokenImageMember(ctx(t), h, imageID(1))
			if err != nil || u.ID != users[p] {
				t.Errorf("%s: TokenImageMember first in a hot write = %+v, %v", name, u, err)
			}
			return check(tx, name+", hot write", h, imageID(1))
		}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		view(t, s, func(tx imgward.Tx) error { return check(tx, name+", view", h, imageID(1)) })
	}
	view(t, s, func(tx imgward.Tx) error {
		_, _, _, _, err := tx.TokenImageMember(ctx(t), tokenHash("nobody"), imageID(1))
		wantKind(t, "TokenImageMember of an unknown token", err, errors.NotExist)
		_, _, _, _, err = tx.TokenImageMember(ctx(t), nil, imageID(1))
		wantKind(t, "TokenImageMember of no token", err, errors.NotExist)
		_, _, _, _, err = tx.TokenImageMember(ctx(t), tokenHash(string(users[owner])), imageID(9))
		wantKind(t, "TokenImageMember of an absent image", err, errors.NotExist)
		return nil
	})
}
