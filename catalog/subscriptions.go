package catalog

import (
	"context"

	"imgward"
	"imgward/errors"
)

// SubscriptionView is a subscription as its buyer or seller sees it: with
// the instances that run under it now.
type SubscriptionView struct {
	imgward.Subscription
	Running []imgward.InstanceID
}

func subObject(id imgward.SubscriptionID) string { return "subscription/" + string(id) }

// Subscribe subscribes the caller's project to an offer, recording the
// offer's terms and price at this moment. The offer must be active and
// its seller not flagged; Exist if the project has an active subscription
// to it already (one, however many race).
func (s *Service) Subscribe(ctx context.Context, p imgward.Principal, id imgward.OfferID) (*SubscriptionView, error) {
	const op = "catalog.Subscribe"
	object := offerObject(id)
	sub := &imgward.Subscription{ID: imgward.SubscriptionID("sub-" + randomHex(8)), OfferID: id,
		ProjectID: p.ProjectID, UserID: p.UserID, State: imgward.SubscriptionActive, CreatedAt: s.stamp()}
	err := s.store.Update(ctx, func(tx imgward.Tx) error {
		o, err := visibleOffer(ctx, tx, p, id)
		if err != nil {
			return denied("subscription.create", object, "no such offer or not visible", err)
		}
		flagged, err := sellerFlagged(ctx, tx, o.Owner)
		if err != nil {
			return err
		}
		deny := func(why string) error {
			return denied("subscription.create", object, why, errors.E(errors.Conflict, errors.Msg(why)))
		}
		switch {
		case o.State != imgward.OfferActive:
			return deny("offer is " + string(o.State))
		case flagged:
			return deny("offer is suspended: its seller is flagged")
		case o.Owner == p.ProjectID:
			return deny("a seller cannot subscribe to its own offer")
		}
		sub.Terms, sub.Price = o.Title+"\n\n"+o.Description, o.Price
		if err := tx.CreateSubscription(ctx, sub); errors.Is(errors.Exist, err) {
			return errors.E(errors.Exist, errors.Msg("the project has an active subscription to this offer"))
		} else if err != nil {
			return err
		}
		return s.audit(ctx, tx, p, "subscription.create", subObject(sub.ID),
			"offer "+string(id)+" at "+FormatAmount(o.Price.Micros)+" "+o.Price.Currency+" per "+string(o.Price.Per))
	})
	if err != nil {
		return nil, s.finish(ctx, p, errors.E(op, err))
	}
	return &SubscriptionView{Subscription: *sub, Running: []imgward.InstanceID{}}, nil
}

// SubscriptionFilter selects subscriptions for a listing.
type SubscriptionFilter struct {
	OfferID imgward.OfferID
	// AsSeller lists the subscriptions to the caller's offers (its
	// buyers) rather than the caller's own.
	AsSeller bool
	State    imgward.SubscriptionState
}

// Subscriptions lists the caller's subscriptions, or with AsSeller those
// of its buyers, each with the instances that run under it.
func (s *Service) Subscriptions(ctx context.Context, p imgward.Principal, f SubscriptionFilter) ([]SubscriptionView, error) {
	const op = "catalog.Subscriptions"
	if f.State != "" && f.State != imgward.SubscriptionActive && f.State != imgward.SubscriptionCancelled {
		return nil, errors.E(op, errors.Invalid, errors.Msg("state must be active or cancelled"))
	}
	sf := imgward.SubscriptionFilter{OfferID: f.OfferID, State: f.State, ProjectID: p.ProjectID}
	if f.AsSeller {
		sf.ProjectID, sf.Seller = "", p.ProjectID
	}
	var vs []SubscriptionView
	err := s.store.View(ctx, func(tx imgward.Tx) error {
		subs, err := tx.ListSubscriptions(ctx, sf)
		if err != nil {
			return err
		}
		vs = make([]SubscriptionView, 0, len(subs))
		for _, sub := range subs {
			run, err := running(ctx, tx, &sub)
			if err != nil {
				return err
			}
			vs = append(vs, SubscriptionView{Subscription: sub, Running: run})
		}
		return nil
	})
	if err != nil {
		return nil, errors.E(op, err)
	}
	return vs, nil
}

// running lists the buyer's running instances of the offered image.
func running(ctx context.Context, tx imgward.Tx, sub *imgward.Subscription) ([]imgward.InstanceID, error) {
	o, err := tx.Offer(ctx, sub.OfferID)
	if err != nil {
		return nil, err
	}
	ins, err := tx.ListInstances(ctx, imgward.InstanceFilter{ImageID: o.ImageID, ProjectID: sub.ProjectID,
		State: imgward.InstanceRunning})
	ids := make([]imgward.InstanceID, 0, len(ins))
	for _, in := range ins {
		ids = append(ids, in.ID)
	}
	return ids, err
}

// CancelSubscription cancels a subscription of the caller's project (any,
// for an admin): no new launches or key releases under it from now on.
func (s *Service) CancelSubscription(ctx context.Context, p imgward.Principal, id imgward.SubscriptionID) (*SubscriptionView, error) {
	const op = "catalog.CancelSubscription"
	object := subObject(id)
	var v *SubscriptionView
	err := s.store.Update(ctx, func(tx imgward.Tx) error {
		sub, err := tx.Subscription(ctx, id)
		if err == nil && sub.ProjectID != p.ProjectID && !p.IsAdmin() {
			return denied("subscription.cancel", object, "subscription of another project",
				errors.E(errors.NotExist, errors.Msg("no such subscription")))
		} else if errors.Is(errors.NotExist, err) {
			return errors.E(errors.NotExist, errors.Msg("no such subscription"))
		} else if err != nil {
			return err
		}
		if sub.State != imgward.SubscriptionActive {
			return errors.E(errors.Conflict, errors.Msg("subscription is cancelled already"))
		}
		sub.State, sub.CancelledAt = imgward.SubscriptionCancelled, s.stamp()
		if err := tx.UpdateSubscription(ctx, sub); err != nil {
			return err
		}
		run, err := running(ctx, tx, sub)
		if err != nil {
			return err
		}
		v = &SubscriptionView{Subscription: *sub, Running: run}
		return s.audit(ctx, tx, p, "subscription.cancel", object, "offer "+string(sub.OfferID))
	})
	if err != nil {
		return nil, s.finish(ctx, p, errors.E(op, err))
	}
	return v, nil
}

// checkDeletable refuses to delete an image that is on sale or has active
// subscriptions: buyers' instances depend on it.
func checkDeletable(ctx context.Context, tx imgward.Tx, id imgward.ImageID) error {
	o, err := codeOffer(ctx, tx, id)
	if err != nil || o == nil || o.ImageID != id {
		return err // a copy carrying another image's code may go
	}
	why := ""
	if o.State == imgward.OfferActive {
		why = "image is on sale as offer " + string(o.ID) + "; withdraw it first"
	} else if subs, err := tx.ListSubscriptions(ctx, imgward.SubscriptionFilter{OfferID: o.ID,
		State: imgward.SubscriptionActive}); err != nil {
		return err
	} else if len(subs) > 0 {
		why = "offer " + string(o.ID) + " of the image has active subscriptions"
	}
	if why == "" {
		return nil
	}
	return denied("image.delete", imageObject(id), why, errors.E(errors.Conflict, errors.Msg(why)))
}
