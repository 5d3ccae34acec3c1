package storetest

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"imgward"
	"imgward/errors"
)

// testImageBlob checks that an image's blob key is written by CreateImage
// and UpdateImage and read back by every read of images, and that the
// product code comes with the image and is not written by UpdateImage.
func testImageBlob(t *testing.T, s imgward.Store) {
	img := newImage(1, projectID(1), imgward.Community, at(0))
	code := imgward.ProductCode(fmt.Sprintf("%032x", 5))
	update(t, s, func(tx imgward.Tx) error { return tx.CreateImage(ctx(t), img) })
	check := func(what, blob string, code imgward.ProductCode) {
		t.Helper()
		view(t, s, func(tx imgward.Tx) error {
			got, err := tx.Image(ctx(t), img.ID)
			if err != nil {
				return err
			}
			list, err := tx.ListImages(ctx(t), imgward.ImageFilter{Viewer: projectID(1)})
			if err != nil {
				return err
			}
			if len(list) != 1 {
				t.Fatalf("%s: ListImages has %d images, want 1", what, len(list))
			}
			for _, g := range []*imgward.Image{got, &list[0]} {
				if g.Blob != blob || g.ProductCode != code {
					t.Errorf("%s: blob %q, product code %q; want %q, %q", what, g.Blob, g.ProductCode, blob, code)
				}
			}
			return nil
		})
	}
	check("created", "", "")
	if img.BlobKey() != string(img.ID) {
		t.Errorf("BlobKey of an image without Blob = %q, want its id", img.BlobKey())
	}
	img.Blob = string(img.ID) + "-s0123456789abcdef"
	update(t, s, func(tx imgward.Tx) error {
		if err := tx.UpdateImage(ctx(t), img); err != nil {
			return err
		}
		return tx.SetProductCode(ctx(t), img.ID, code)
	})
	check("updated", img.Blob, code)
	img.ProductCode = "f00"
	update(t, s, func(tx imgward.Tx) error { return tx.UpdateImage(ctx(t), img) })
	check("updated with another code", img.Blob, code)
}

// testStaleBlobs checks the records of blobs that may be unreferenced.
func testStaleBlobs(t *testing.T, s imgward.Store) {
	b1 := &imgward.StaleBlob{Key: "b-1", ImageID: imageID(1), CreatedAt: at(2)}
	b2 := &imgward.StaleBlob{Key: "b-2", ImageID: imageID(9), CreatedAt: at(1)} // no such image: allowed
	b3 := &imgward.StaleBlob{Key: "b-3", ImageID: imageID(1), CreatedAt: at(3)}
	update(t, s, func(tx imgward.Tx) error {
		for _, b := range []*imgward.StaleBlob{b1, b2, b3} {
			if err := tx.AddStaleBlob(ctx(t), b); err != nil {
				return err
			}
		}
		return nil
	})
	err := s.Update(ctx(t), func(tx imgward.Tx) error { return tx.AddStaleBlob(ctx(t), b1) })
	wantKind(t, "AddStaleBlob twice", err, errors.Exist)
	list := func(limit int) []imgward.StaleBlob {
		var got []imgward.StaleBlob
		view(t, s, func(tx imgward.Tx) error {
			var err error
			got, err = tx.StaleBlobs(ctx(t), limit)
			return err
		})
		return got
	}
	if diff := cmp.Diff([]imgward.StaleBlob{*b2, *b1}, list(2)); diff != "" {
		t.Errorf("StaleBlobs, oldest first (-want +got):\n%s", diff)
	}
	update(t, s, func(tx imgward.Tx) error { return tx.DeleteStaleBlob(ctx(t), b1.Key) })
	err = s.Update(ctx(t), func(tx imgward.Tx) error { return tx.DeleteStaleBlob(ctx(t), b1.Key) })
	wantKind(t, "DeleteStaleBlob of an absent record", err, errors.NotExist)
	if diff := cmp.Diff([]imgward.StaleBlob{*b2, *b3}, list(10)); diff != "" {
		t.Errorf("StaleBlobs after a delete (-want +got):\n%s", diff)
	}
}

// testEntitlement checks the joined read of an offer and a project's
// active subscription to it.
func testEntitlement(t *testing.T, s imgward.Store) {
	seller, buyer, other := projectID(1), projectID(2), projectID(3)
	o, o2 := newOffer(1, seller, "paid"), newOffer(2, seller, "other")
	cancelled, active, elsewhere := newSub(1, o, buyer), newSub(2, o, buyer), newSub(3, o2, other)
	cancelled.State, cancelled.CancelledAt = imgward.SubscriptionCancelled, at(9)
	update(t, s, func(tx imgward.Tx) error {
		for _, x := range []*imgward.Offer{o, o2} {
			if err := tx.CreateOffer(ctx(t), x); err != nil {
				return err
			}
		}
		for _, x := range []*imgward.Subscription{cancelled, active, elsewhere} {
			if err := tx.CreateSubscription(ctx(t), x); err != nil {
				return err
			}
		}
		return nil
	})
	for _, tt := range []struct {
		name    string
		code    imgward.ProductCode
		project imgward.ProjectID
		want    *imgward.Subscription
	}{
		{"subscribed", o.ProductCode, buyer, active},
		{"subscribed to another offer only", o.ProductCode, other, nil},
		{"the seller", o.ProductCode, seller, nil},
	} {
		view(t, s, func(tx imgward.Tx) error {
			gotO, gotS, err := tx.Entitlement(ctx(t), tt.code, tt.project)
			if err != nil {
				return err
			}
			if diff := cmp.Diff(o, gotO); diff != "" {
				t.Errorf("%s: offer (-want +got):\n%s", tt.name, diff)
			}
			if diff := cmp.Diff(tt.want, gotS); diff != "" {
				t.Errorf("%s: subscription (-want +got):\n%s", tt.name, diff)
			}
			return nil
		})
	}
	// Cancelling the active one leaves none: the cancelled one never counts.
	active.State, active.CancelledAt = imgward.SubscriptionCancelled, at(10)
	update(t, s, func(tx imgward.Tx) error { return tx.UpdateSubscription(ctx(t), active) })
	view(t, s, func(tx imgward.Tx) error {
		_, got, err := tx.Entitlement(ctx(t), o.ProductCode, buyer)
		if err != nil || got != nil {
			t.Errorf("Entitlement after cancelling = %+v, %v; want none", got, err)
		}
		_, _, err = tx.Entitlement(ctx(t), "0000", buyer)
		wantKind(t, "Entitlement of a code no offer issued", err, errors.NotExist)
		return nil
	})
}
