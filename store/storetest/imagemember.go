package storetest

import (
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
