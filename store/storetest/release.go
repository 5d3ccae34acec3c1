package storetest

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"imgward"
)

// releaseFixture is what testReleaseContext reads: owner P shares image 1
// (offered, with a product code and a key record) with Q, whose user
// launched instance 1 and whose project subscribes; R's admin launched
// instance 2; instance 3 of Q has terminated; image 2 of P has neither a
// code nor a key.
type releaseFixture struct {
	img, plain             imgward.Image
	member                 imgward.Member
	userQ, userR           imgward.User
	offer                  imgward.Offer
	sub                    imgward.Subscription
	key                    imgward.ImageKey
	inQ, inR, inTerminated imgward.Instance
}

func newReleaseFixture() *releaseFixture {
	p, q, r := projectID(1), projectID(2), projectID(3)
	f := &releaseFixture{
		img:    *newImage(1, p, imgward.Shared, at(0)),
		plain:  *newImage(2, p, imgward.Public, at(1)),
		member: imgward.Member{ImageID: imageID(1), MemberID: q, Status: imgward.MemberAccepted, CreatedAt: at(2), UpdatedAt: at(3)},
		userQ: imgward.User{ID: userID(2), Name: "bob", ProjectID: q, Role: imgward.RoleMember, CreatedAt: at(1),
			Hosts: []string{"hv-1", "hv-2"}},
		userR: imgward.User{ID: userID(3), Name: "root", ProjectID: r, Role: imgward.RoleAdmin, CreatedAt: at(1), Disabled: true},
		offer: *newOffer(1, p, "Hardened Debian"),
		key: imgward.ImageKey{ImageID: imageID(1), Owner: p, Mode: imgward.ProtectSensitive, SealedAt: 1<<33 + 512,
			Wrapped: imgward.WrappedKey{KeyID: "images", Version: 1<<32 - 1, Ciphertext: []byte{0, 1, 2, 0xff}}, CreatedAt: at(4)},
		inQ: imgward.Instance{ID: instanceID(1), ImageID: imageID(1), ProjectID: q, UserID: userID(2), Host: "hv-1",
			State: imgward.InstanceRunning, CreatedAt: at(5)},
		inR: imgward.Instance{ID: instanceID(2), ImageID: imageID(1), ProjectID: r, UserID: userID(3), Host: "hv-2",
			State: imgward.InstanceRunning, CreatedAt: at(6)},
		inTerminated: imgward.Instance{ID: instanceID(3), ImageID: imageID(1), ProjectID: q, UserID: userID(2),
			State: imgward.InstanceTerminated, CreatedAt: at(7), TerminatedAt: at(8)},
	}
	f.img.Blob = "images/" + string(f.img.ID) + "/1"
	f.img.ProductCode = f.offer.ProductCode
	f.sub = *newSub(1, &f.offer, q)
	return f
}

func (f *releaseFixture) create(ctx0 context.Context, tx imgward.Tx) error {
	for _, img := range []*imgward.Image{&f.img, &f.plain} {
		if err := tx.CreateImage(ctx0, img); err != nil {
			return err
		}
	}
	for _, u := range []*imgward.User{&f.userQ, &f.userR} {
		if err := tx.CreateUser(ctx0, u); err != nil {
			return err
		}
	}
	for _, in := range []*imgward.Instance{&f.inQ, &f.inR, &f.inTerminated} {
		if err := tx.CreateInstance(ctx0, in); err != nil {
			return err
		}
	}
	if err := tx.CreateMember(ctx0, &f.member); err != nil {
		return err
	}
	if err := tx.CreateOffer(ctx0, &f.offer); err != nil {
		return err
	}
	if err := tx.SetProductCode(ctx0, f.img.ID, f.offer.ProductCode); err != nil {
		return err
	}
	if err := tx.CreateSubscription(ctx0, &f.sub); err != nil {
		return err
	}
	return tx.CreateImageKey(ctx0, &f.key)
}

// testReleaseContext checks the one-statement read of a key release: every
// field of every record that it holds (decided), and each state that the broker refuses a release
// on, as it changes (a step's change stays for the steps after it). It
// reads through ViewOne, which fails if the read takes two statements.
func testReleaseContext(t *testing.T, s imgward.Store) {
	f := newReleaseFixture()
	update(t, s, func(tx imgward.Tx) error { return f.create(ctx(t), tx) })
	p, q := projectID(1), projectID(2)
	// full is the context of Q's instance and image 1 as the fixture
	// stands when the step's change has been made.
	full := func() imgward.ReleaseContext {
		img, m, sub, key := f.img, f.member, f.sub, f.key
		return imgward.ReleaseContext{Instance: &f.inQ, Image: &img, Member: &m, User: &f.userQ, Offer: &f.offer,
			Subscription: &sub, Key: &key}
	}
	steps := []struct {
		name     string
		change   func(tx imgward.Tx) error // nil for none
		instance imgward.InstanceID
		image    imgward.ImageID
		want     func() imgward.ReleaseContext
	}{
		{"accepted member, subscribed", nil, f.inQ.ID, f.img.ID, full},
		{"another project's instance", nil, f.inR.ID, f.img.ID, func() imgward.ReleaseContext {
			rc := full()
			rc.Instance, rc.User, rc.Member, rc.Subscription = &f.inR, &f.userR, nil, nil
			return rc
		}},
		{"unknown instance", nil, instanceID(9), f.img.ID, func() imgward.ReleaseContext {
			rc := full()
			rc.Instance, rc.User, rc.Member, rc.Subscription = nil, nil, nil, nil
			return rc
		}},
		{"terminated instance", nil, f.inTerminated.ID, f.img.ID, func() imgward.ReleaseContext {
			rc := full()
			rc.Instance = &f.inTerminated
			return rc
		}},
		{"unknown image", nil, f.inQ.ID, imageID(9), func() imgward.ReleaseContext {
			return imgward.ReleaseContext{Instance: &f.inQ, User: &f.userQ}
		}},
		{"image without code, key or members", nil, f.inQ.ID, f.plain.ID, func() imgward.ReleaseContext {
			return imgward.ReleaseContext{Instance: &f.inQ, Image: &f.plain, User: &f.userQ}
		}},
		{"pending member", func(tx imgward.Tx) error {
			f.member.Status, f.member.UpdatedAt = imgward.MemberPending, at(20)
			return tx.UpdateMember(ctx(t), &f.member)
		}, f.inQ.ID, f.img.ID, full},
		{"rejected member", func(tx imgward.Tx) error {
			f.member.Status, f.member.UpdatedAt = imgward.MemberRejected, at(21)
			return tx.UpdateMember(ctx(t), &f.member)
		}, f.inQ.ID, f.img.ID, full},
		{"quarantined image", func(tx imgward.Tx) error {
			f.img.Quarantined = true
			_, err := tx.SetQuarantine(ctx(t), p, true)
			return err
		}, f.inQ.ID, f.img.ID, full},
		{"rotated key", func(tx imgward.Tx) error {
			f.key.Wrapped = imgward.WrappedKey{KeyID: "images", Version: 7, Ciphertext: []byte("rewrapped")}
			return tx.UpdateImageKey(ctx(t), &f.key)
		}, f.inQ.ID, f.img.ID, full},
		{"cancelled subscription", func(tx imgward.Tx) error {
			f.sub.State, f.sub.CancelledAt = imgward.SubscriptionCancelled, at(30)
			return tx.UpdateSubscription(ctx(t), &f.sub)
		}, f.inQ.ID, f.img.ID, func() imgward.ReleaseContext {
			rc := full()
			rc.Subscription = nil
			return rc
		}},
		{"removed member", func(tx imgward.Tx) error { return tx.DeleteMember(ctx(t), f.img.ID, q) },
			f.inQ.ID, f.img.ID, func() imgward.ReleaseContext {
				rc := full()
				rc.Member, rc.Subscription = nil, nil
				return rc
			}},
		{"deleted image", func(tx imgward.Tx) error { return tx.DeleteImage(ctx(t), f.img.ID) },
			f.inQ.ID, f.img.ID, func() imgward.ReleaseContext {
				return imgward.ReleaseContext{Instance: &f.inQ, User: &f.userQ}
			}},
	}
	for _, st := range steps {
		if st.change != nil {
			update(t, s, st.change)
		}
		var got *imgward.ReleaseContext
		err := imgward.ViewOne(ctx(t), s, func(tx imgward.Tx) error {
			var err error
			got, err = tx.ReleaseContext(ctx(t), st.instance, st.image)
			return err
		})
		if err != nil {
			t.Fatalf("%s: ReleaseContext: %v", st.name, err)
		}
		if diff := cmp.Diff(decided(st.want()), *got); diff != "" {
			t.Errorf("%s: ReleaseContext (-want +got):\n%s", st.name, diff)
		}
	}
}

// decided is rc with only the fields that imgward.ReleaseContext holds:
// those a release is decided on.
func decided(rc imgward.ReleaseContext) imgward.ReleaseContext {
	if in := rc.Instance; in != nil {
		rc.Instance = &imgward.Instance{ID: in.ID, ImageID: in.ImageID, ProjectID: in.ProjectID, UserID: in.UserID,
			State: in.State}
	}
	if img := rc.Image; img != nil {
		rc.Image = &imgward.Image{ID: img.ID, Owner: img.Owner, Visibility: img.Visibility, Blob: img.Blob,
			Quarantined: img.Quarantined, ProductCode: img.ProductCode}
	}
	if m := rc.Member; m != nil {
		rc.Member = &imgward.Member{ImageID: m.ImageID, MemberID: m.MemberID, Status: m.Status}
	}
	if u := rc.User; u != nil {
		rc.User = &imgward.User{ID: u.ID, Role: u.Role}
	}
	if o := rc.Offer; o != nil {
		rc.Offer = &imgward.Offer{ID: o.ID, Owner: o.Owner, ProductCode: o.ProductCode}
	}
	if s := rc.Subscription; s != nil {
		rc.Subscription = &imgward.Subscription{ID: s.ID, OfferID: s.OfferID, ProjectID: s.ProjectID, State: s.State}
	}
	return rc
}

// BenchReleaseReads measures, on s, the reads of a key release as one
// statement (ReleaseContext) and as the separate reads it replaced
// (instance, image, membership, entitlement, key record), all within one
// read transaction, for an image with a product code.
func BenchReleaseReads(b *testing.B, s imgward.Store) {
	f := newReleaseFixture()
	ctx := b.Context()
	if err := s.Update(ctx, func(tx imgward.Tx) error { return f.create(ctx, tx) }); err != nil {
		b.Fatal(err)
	}
	reads := map[string]func(tx imgward.Tx) error{
		"one": func(tx imgward.Tx) error {
			_, err := tx.ReleaseContext(ctx, f.inQ.ID, f.img.ID)
			return err
		},
		"separate": func(tx imgward.Tx) error {
			if _, err := tx.Instance(ctx, f.inQ.ID); err != nil {
				return err
			}
			if _, err := tx.Image(ctx, f.img.ID); err != nil {
				return err
			}
			if _, err := tx.Member(ctx, f.img.ID, f.inQ.ProjectID); err != nil {
				return err
			}
			if _, _, err := tx.Entitlement(ctx, f.offer.ProductCode, f.inQ.ProjectID); err != nil {
				return err
			}
			_, err := tx.ImageKey(ctx, f.img.ID)
			return err
		},
	}
	for _, name := range []string{"one", "separate"} {
		// The first transaction notes the queries, which the next one
		// runs prepared (as a store's statement cache does).
		if err := s.View(ctx, reads[name]); err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			err := s.View(ctx, func(tx imgward.Tx) error {
				for range b.N {
					if err := reads[name](tx); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		})
	}
}
