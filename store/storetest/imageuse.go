package storetest

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"imgward"
	"imgward/errors"
)

// testImageUse checks that Tx.ImageUse reads in one statement what Image,
// Member and Entitlement read one by one, for a member, a pending member
// with a cancelled subscription, a stranger, and an image without a code.
func testImageUse(t *testing.T, s imgward.Store) {
	seller, buyer, pending, stranger := projectID(1), projectID(2), projectID(3), projectID(4)
	o := newOffer(1, seller, "Hardened Debian")
	active, cancelled := newSub(1, o, buyer), newSub(2, o, pending)
	cancelled.State, cancelled.CancelledAt = imgward.SubscriptionCancelled, at(5)
	update(t, s, func(tx imgward.Tx) error {
		for _, img := range []*imgward.Image{newImage(1, seller, imgward.Shared, at(0)), newImage(2, seller, imgward.Public, at(0))} {
			if err := tx.CreateImage(ctx(t), img); err != nil {
				return err
			}
		}
		for _, m := range []imgward.Member{
			{ImageID: imageID(1), MemberID: buyer, Status: imgward.MemberAccepted, CreatedAt: at(1), UpdatedAt: at(2)},
			{ImageID: imageID(1), MemberID: pending, Status: imgward.MemberPending, CreatedAt: at(3), UpdatedAt: at(3)},
		} {
			if err := tx.CreateMember(ctx(t), &m); err != nil {
				return err
			}
		}
		if err := tx.CreateOffer(ctx(t), o); err != nil {
			return err
		}
		if err := tx.SetProductCode(ctx(t), imageID(1), o.ProductCode); err != nil {
			return err
		}
		for _, sub := range []*imgward.Subscription{active, cancelled} {
			if err := tx.CreateSubscription(ctx(t), sub); err != nil {
				return err
			}
		}
		return nil
	})
	tests := []struct {
		name    string
		image   imgward.ImageID
		project imgward.ProjectID
		member  bool
		sub     *imgward.Subscription
	}{
		{"accepted member, subscribed", imageID(1), buyer, true, active},
		{"pending member, subscription cancelled", imageID(1), pending, true, nil},
		{"stranger", imageID(1), stranger, false, nil},
		{"the seller", imageID(1), seller, false, nil},
		{"image without a code", imageID(2), buyer, false, nil},
	}
	for _, tt := range tests {
		view(t, s, func(tx imgward.Tx) error {
			img, err := tx.Image(ctx(t), tt.image)
			if err != nil {
				return err
			}
			want := &imgward.ImageUse{Image: img, Subscription: tt.sub}
			if tt.member {
				if want.Member, err = tx.Member(ctx(t), tt.image, tt.project); err != nil {
					return err
				}
			}
			if img.ProductCode != "" {
				want.Offer = o
			}
			got, err := tx.ImageUse(ctx(t), tt.image, tt.project)
			if err != nil {
				t.Errorf("%s: ImageUse: %v", tt.name, err)
				return nil
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s: ImageUse (-want +got):\n%s", tt.name, diff)
			}
			return nil
		})
	}
	view(t, s, func(tx imgward.Tx) error {
		_, err := tx.ImageUse(ctx(t), imageID(9), buyer)
		wantKind(t, "ImageUse of an absent image", err, errors.NotExist)
		return nil
	})
}
