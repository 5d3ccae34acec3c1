package storetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"imgward"
	"imgward/errors"
)

func newOffer(n int, owner imgward.ProjectID, title string) *imgward.Offer {
	return &imgward.Offer{ID: imgward.OfferID(fmt.Sprintf("offer-%016x", n)), ImageID: imageID(n), Owner: owner,
		ProductCode: imgward.ProductCode(fmt.Sprintf("%032x", 0xc0de+n)), Title: title, Description: "Grüße ✓",
		Price:     imgward.Price{Micros: 120000 + int64(n), Currency: "USD", Per: imgward.PerHour},
		State:     imgward.OfferActive,
		CreatedAt: at(n), UpdatedAt: at(n + 1)}
}

func newSub(n int, o *imgward.Offer, buyer imgward.ProjectID) *imgward.Subscription {
	return &imgward.Subscription{ID: imgward.SubscriptionID(fmt.Sprintf("sub-%016x", n)), OfferID: o.ID,
		ProjectID: buyer, UserID: userID(n), Terms: o.Title, Price: o.Price,
		State: imgward.SubscriptionActive, CreatedAt: at(n)}
}

func testOffers(t *testing.T, s imgward.Store) {
	seller, other := projectID(1), projectID(2)
	o1, o2, o3 := newOffer(1, seller, "Hardened Debian"), newOffer(2, seller, "50% off_db"), newOffer(3, other, "debian CIS")
	update(t, s, func(tx imgward.Tx) error {
		for _, o := range []*imgward.Offer{o1, o2, o3} {
			if err := tx.CreateOffer(ctx(t), o); err != nil {
				return err
			}
		}
		return nil
	})
	twice := *o1
	twice.ID = "offer-ffffffffffffffff"
	err := s.Update(ctx(t), func(tx imgward.Tx) error { return tx.CreateOffer(ctx(t), &twice) })
	wantKind(t, "CreateOffer of an offered image", err, errors.Exist)

	o1.Price.Micros, o1.State, o1.Title, o1.UpdatedAt = 7, imgward.OfferWithdrawn, "Hardened Debian 13", at(9)
	update(t, s, func(tx imgward.Tx) error { return tx.UpdateOffer(ctx(t), o1) })
	err = s.Update(ctx(t), func(tx imgward.Tx) error { return tx.UpdateOffer(ctx(t), newOffer(9, seller, "")) })
	wantKind(t, "UpdateOffer of an absent offer", err, errors.NotExist)
	view(t, s, func(tx imgward.Tx) error {
		got, err := tx.Offer(ctx(t), o1.ID)
		if err != nil {
			return err
		}
		if diff := cmp.Diff(o1, got); diff != "" {
			t.Errorf("Offer (-want +got):\n%s", diff)
		}
		got, err = tx.OfferByCode(ctx(t), o2.ProductCode)
		if err != nil || got.ID != o2.ID {
			t.Errorf("OfferByCode = %v, %v; want %s", got, err, o2.ID)
		}
		_, err = tx.Offer(ctx(t), "offer-0000000000000009")
		wantKind(t, "Offer of an absent id", err, errors.NotExist)
		return nil
	})
	for _, tt := range []struct {
		name string
		f    imgward.OfferFilter
		want []imgward.OfferID
	}{
		{"all", imgward.OfferFilter{}, []imgward.OfferID{o1.ID, o2.ID, o3.ID}},
		{"seller", imgward.OfferFilter{Owner: seller}, []imgward.OfferID{o1.ID, o2.ID}},
		{"active", imgward.OfferFilter{State: imgward.OfferActive}, []imgward.OfferID{o2.ID, o3.ID}},
		{"title any case", imgward.OfferFilter{Title: "DEBIAN"}, []imgward.OfferID{o1.ID, o3.ID}},
		{"wildcards are text", imgward.OfferFilter{Title: "% off_"}, []imgward.OfferID{o2.ID}},
		{"underscore is text", imgward.OfferFilter{Title: "n_C"}, nil},
		{"page", imgward.OfferFilter{After: o1.ID, Limit: 1}, []imgward.OfferID{o2.ID}},
	} {
		var got []imgward.OfferID
		view(t, s, func(tx imgward.Tx) error {
			os, err := tx.ListOffers(ctx(t), tt.f)
			for _, o := range os {
				got = append(got, o.ID)
			}
			return err
		})
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ListOffers %s (-want +got):\n%s", tt.name, diff)
		}
	}
}

func testSubscriptions(t *testing.T, s imgward.Store) {
	seller, buyer, buyer2 := projectID(1), projectID(2), projectID(3)
	o := newOffer(1, seller, "paid")
	s1, s2 := newSub(1, o, buyer), newSub(2, o, buyer2)
	err := s.Update(ctx(t), func(tx imgward.Tx) error { return tx.CreateSubscription(ctx(t), s1) })
	wantKind(t, "CreateSubscription to an absent offer", err, errors.NotExist)
	update(t, s, func(tx imgward.Tx) error {
		if err := tx.CreateOffer(ctx(t), o); err != nil {
			return err
		}
		if err := tx.CreateSubscription(ctx(t), s1); err != nil {
			return err
		}
		return tx.CreateSubscription(ctx(t), s2)
	})
	again := newSub(3, o, buyer)
	err = s.Update(ctx(t), func(tx imgward.Tx) error { return tx.CreateSubscription(ctx(t), again) })
	wantKind(t, "second active subscription", err, errors.Exist)

	s1.State, s1.CancelledAt = imgward.SubscriptionCancelled, at(5)
	update(t, s, func(tx imgward.Tx) error { return tx.UpdateSubscription(ctx(t), s1) })
	// Cancelled, the project may subscribe again.
	update(t, s, func(tx imgward.Tx) error { return tx.CreateSubscription(ctx(t), again) })
	view(t, s, func(tx imgward.Tx) error {
		got, err := tx.Subscription(ctx(t), s1.ID)
		if err != nil {
			return err
		}
		if diff := cmp.Diff(s1, got); diff != "" {
			t.Errorf("Subscription (-want +got):\n%s", diff)
		}
		got, err = tx.ActiveSubscription(ctx(t), o.ID, buyer)
		if err != nil || got.ID != again.ID {
			t.Errorf("ActiveSubscription = %v, %v; want %s", got, err, again.ID)
		}
		_, err = tx.ActiveSubscription(ctx(t), o.ID, seller)
		wantKind(t, "ActiveSubscription of a non-buyer", err, errors.NotExist)
		return nil
	})
	for _, tt := range []struct {
		name string
		f    imgward.SubscriptionFilter
		want []imgward.SubscriptionID
	}{
		{"offer", imgward.SubscriptionFilter{OfferID: o.ID}, []imgward.SubscriptionID{s1.ID, s2.ID, again.ID}},
		{"buyer", imgward.SubscriptionFilter{ProjectID: buyer}, []imgward.SubscriptionID{s1.ID, again.ID}},
		{"seller active", imgward.SubscriptionFilter{Seller: seller, State: imgward.SubscriptionActive},
			[]imgward.SubscriptionID{s2.ID, again.ID}},
		{"other seller", imgward.SubscriptionFilter{Seller: buyer}, nil},
	} {
		var got []imgward.SubscriptionID
		view(t, s, func(tx imgward.Tx) error {
			ss, err := tx.ListSubscriptions(ctx(t), tt.f)
			for _, x := range ss {
				got = append(got, x.ID)
			}
			return err
		})
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ListSubscriptions %s (-want +got):\n%s", tt.name, diff)
		}
	}
}

// testSubscribeConcurrent races subscriptions of one project to one
// offer: the unique constraint lets exactly one through.
func testSubscribeConcurrent(t *testing.T, s imgward.Store) {
	o := newOffer(1, projectID(1), "paid")
	update(t, s, func(tx imgward.Tx) error { return tx.CreateOffer(ctx(t), o) })
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Update(ctx(t), func(tx imgward.Tx) error {
				return tx.CreateSubscription(ctx(t), newSub(10+i, o, projectID(2)))
			})
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else if !errors.Is(errors.Exist, err) {
			t.Errorf("concurrent CreateSubscription: %v, want nil or Exist", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d concurrent subscriptions succeeded, want 1", ok)
	}
}

func testProductCodes(t *testing.T, s imgward.Store) {
	code := imgward.ProductCode(fmt.Sprintf("%032x", 77))
	err := s.Update(ctx(t), func(tx imgward.Tx) error { return tx.SetProductCode(ctx(t), imageID(1), code) })
	wantKind(t, "SetProductCode of an absent image", err, errors.NotExist)
	update(t, s, func(tx imgward.Tx) error {
		for _, n := range []int{1, 2} {
			if err := tx.CreateImage(ctx(t), newImage(n, projectID(1), imgward.Private, at(0))); err != nil {
				return err
			}
		}
		if err := tx.SetProductCode(ctx(t), imageID(1), "old"); err != nil {
			return err
		}
		return tx.SetProductCode(ctx(t), imageID(1), code)
	})
	view(t, s, func(tx imgward.Tx) error {
		got, err := tx.ProductCode(ctx(t), imageID(1))
		if err != nil || got != code {
			t.Errorf("ProductCode = %q, %v; want %q", got, err, code)
		}
		_, err = tx.ProductCode(ctx(t), imageID(2))
		wantKind(t, "ProductCode of an unmarked image", err, errors.NotExist)
		return nil
	})
	update(t, s, func(tx imgward.Tx) error { return tx.DeleteImage(ctx(t), imageID(1)) })
	view(t, s, func(tx imgward.Tx) error {
		_, err := tx.ProductCode(ctx(t), imageID(1))
		wantKind(t, "ProductCode of a deleted image", err, errors.NotExist)
		return nil
	})
}

// testUsage clips instance runs to the window and sums them per
// subscription.
func testUsage(t *testing.T, s imgward.Store) {
	o := newOffer(1, projectID(1), "paid")
	s1, s2 := newSub(1, o, projectID(2)), newSub(2, o, projectID(3))
	runs := []struct {
		sub        *imgward.Subscription
		start, end int // seconds; end < 0 while running
	}{
		{s1, 0, 3600},     // before and into the window: 1800 s inside
		{s1, 2000, 3000},  // inside: 1000 s
		{s1, 5000, 6000},  // after the window: not counted
		{s2, 1000, -1},    // running since before the window: 2200 s, up to to
		{s2, 100, 500},    // before the window: not counted
		{s2, 4000, 10000}, // into and beyond: 0 s (starts at to)
	}
	update(t, s, func(tx imgward.Tx) error {
		if err := tx.CreateOffer(ctx(t), o); err != nil {
			return err
		}
		for _, sub := range []*imgward.Subscription{s1, s2} {
			if err := tx.CreateSubscription(ctx(t), sub); err != nil {
				return err
			}
		}
		for i, r := range runs {
			in := &imgward.Instance{ID: instanceID(i), ImageID: imageID(1), ProjectID: r.sub.ProjectID,
				UserID: userID(1), State: imgward.InstanceRunning, CreatedAt: at(r.start)}
			if r.end >= 0 {
				in.State, in.TerminatedAt = imgward.InstanceTerminated, at(r.end)
			}
			if err := tx.CreateInstance(ctx(t), in); err != nil {
				return err
			}
			m := &imgward.MeteredInstance{InstanceID: in.ID, SubscriptionID: r.sub.ID, OfferID: o.ID}
			if err := tx.CreateMeteredInstance(ctx(t), m); err != nil {
				return err
			}
		}
		return nil
	})
	from, to := at(1800), at(4000)
	want := []imgward.UsageRow{
		{SubscriptionID: s1.ID, ProjectID: s1.ProjectID, Instances: 2, Micros: 2800e6},
		{SubscriptionID: s2.ID, ProjectID: s2.ProjectID, Instances: 1, Micros: 2200e6},
	}
	view(t, s, func(tx imgward.Tx) error {
		got, err := tx.Usage(ctx(t), o.ID, "", from, to)
		if err != nil {
			return err
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Usage by offer (-want +got):\n%s", diff)
		}
		got, err = tx.Usage(ctx(t), "", s2.ProjectID, from, to)
		if err != nil {
			return err
		}
		if diff := cmp.Diff(want[1:], got); diff != "" {
			t.Errorf("Usage by buyer (-want +got):\n%s", diff)
		}
		return nil
	})

	// The running instance terminates: its usage ends there.
	update(t, s, func(tx imgward.Tx) error {
		in, err := tx.Instance(ctx(t), instanceID(3))
		if err != nil {
			return err
		}
		in.State, in.TerminatedAt = imgward.InstanceTerminated, at(3000)
		return tx.UpdateInstance(ctx(t), in)
	})
	view(t, s, func(tx imgward.Tx) error {
		got, err := tx.Usage(ctx(t), "", s2.ProjectID, from, to)
		if err == nil && (len(got) != 1 || got[0].Micros != 1200e6) {
			t.Errorf("Usage after termination: %+v, want 1200 s", got)
		}
		return err
	})
	err := s.Update(ctx(t), func(tx imgward.Tx) error {
		return tx.CreateMeteredInstance(ctx(t), &imgward.MeteredInstance{InstanceID: instanceID(99), SubscriptionID: s1.ID, OfferID: o.ID})
	})
	wantKind(t, "CreateMeteredInstance of an absent instance", err, errors.NotExist)
}
