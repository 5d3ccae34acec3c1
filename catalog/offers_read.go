package catalog

import (
	"context"

	"imgward"
	"imgward/errors"
)

// OfferFilter selects offers for a listing.
type OfferFilter struct {
	Publisher imgward.ProjectID // only this seller's
	Verified  *bool             // only sellers verified (or not)
	Title     string            // only titles that contain this text, in any case
	Marker    imgward.OfferID   // the last offer of the previous page
	Limit     int               // at most this many; 0 or more than MaxOfferPage: MaxOfferPage
}

// sellerFlagged reports whether detection flagged the seller: its offers
// are suspended while the flag stands.
func sellerFlagged(ctx context.Context, tx imgward.Tx, owner imgward.ProjectID) (bool, error) {
	v, err := tx.Verdict(ctx, imgward.VerdictPublisher, string(owner))
	if errors.Is(errors.NotExist, err) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return v.State == imgward.VerdictFlagged, nil
}

// view dresses an offer for a client.
func view(ctx context.Context, tx imgward.Tx, o *imgward.Offer) (*OfferView, error) {
	v := &OfferView{Offer: *o}
	var err error
	if v.Publisher, err = publisherOf(ctx, tx, o.Owner); err != nil {
		return nil, err
	}
	if o.State == imgward.OfferActive {
		flagged, err := sellerFlagged(ctx, tx, o.Owner)
		if err != nil {
			return nil, err
		}
		if flagged {
			v.State = OfferStateSuspended
		}
	}
	return v, nil
}

// ListOffers lists active offers to every authenticated caller; a seller
// listing its own (Publisher is the caller's project) sees its withdrawn
// ones too, as an admin does.
func (s *Service) ListOffers(ctx context.Context, p imgward.Principal, f OfferFilter) ([]OfferView, error) {
	const op = "catalog.ListOffers"
	if len(f.Title) > maxOfferTitle {
		return nil, errors.E(op, errors.Invalid, errors.Msg("title filter is too long"))
	}
	if f.Limit <= 0 || f.Limit > MaxOfferPage {
		f.Limit = MaxOfferPage
	}
	sf := imgward.OfferFilter{Owner: f.Publisher, Title: f.Title, After: f.Marker, Limit: f.Limit}
	if !p.IsAdmin() && (f.Publisher == "" || f.Publisher != p.ProjectID) {
		sf.State = imgward.OfferActive
	}
	vs := []OfferView{}
	err := s.store.View(ctx, func(tx imgward.Tx) error {
		if f.Marker != "" {
			if _, err := tx.Offer(ctx, f.Marker); errors.Is(errors.NotExist, err) {
				return errors.E(errors.Invalid, errors.Msg("marker is not an offer"))
			}
		}
		// A filter on the seller's verified flag is applied after the
		// query, so pages are read until one is full or the list ends.
		for len(vs) < f.Limit {
			os, err := tx.ListOffers(ctx, sf)
			if err != nil {
				return err
			}
			for i := range os {
				v, err := view(ctx, tx, &os[i])
				if err != nil {
					return err
				}
				if (f.Verified == nil || v.Publisher.Verified == *f.Verified) && len(vs) < f.Limit {
					vs = append(vs, *v)
				}
			}
			if len(os) < sf.Limit {
				break
			}
			sf.After = os[len(os)-1].ID
		}
		return nil
	})
	if err != nil {
		return nil, errors.E(op, err)
	}
	return vs, nil
}

// Offer returns an offer. An active one is shown to everyone; a withdrawn
// one to its seller, its subscribers and admins.
func (s *Service) Offer(ctx context.Context, p imgward.Principal, id imgward.OfferID) (*OfferView, error) {
	const op = "catalog.Offer"
	var v *OfferView
	err := s.store.View(ctx, func(tx imgward.Tx) error {
		o, err := visibleOffer(ctx, tx, p, id)
		if err != nil {
			return err
		}
		v, err = view(ctx, tx, o)
		return err
	})
	if err != nil {
		return nil, errors.E(op, err)
	}
	return v, nil
}

func noSuchOffer() error { return errors.E(errors.NotExist, errors.Msg("no such offer")) }

// visibleOffer reads an offer that p may see.
func visibleOffer(ctx context.Context, tx imgward.Tx, p imgward.Principal, id imgward.OfferID) (*imgward.Offer, error) {
	o, err := tx.Offer(ctx, id)
	if errors.Is(errors.NotExist, err) {
		return nil, noSuchOffer()
	} else if err != nil {
		return nil, err
	}
	if o.State == imgward.OfferActive || o.Owner == p.ProjectID || p.IsAdmin() {
		return o, nil
	}
	subs, err := tx.ListSubscriptions(ctx, imgward.SubscriptionFilter{OfferID: id, ProjectID: p.ProjectID})
	if err != nil {
		return nil, err
	}
	if len(subs) == 0 {
		return nil, noSuchOffer()
	}
	return o, nil
}

// OfferUpdate is a change to an offer; nil fields stay.
type OfferUpdate struct {
	Title       *string
	Description *string
	Price       *PriceInput
}

// UpdateOffer changes an active offer's text or price (its seller only).
// Existing subscriptions keep the price they were made at.
func (s *Service) UpdateOffer(ctx context.Context, p imgward.Principal, id imgward.OfferID, u OfferUpdate) (*OfferView, error) {
	const op = "catalog.UpdateOffer"
	var price *imgward.Price
	if u.Price != nil {
		pr, err := parsePrice(*u.Price)
		if err != nil {
			return nil, errors.E(op, err)
		}
		price = &pr
	}
	var v *OfferView
	err := s.store.Update(ctx, func(tx imgward.Tx) error {
		o, err := s.ownOffer(ctx, tx, p, id, "offer.update")
		if err != nil {
			return err
		}
		if o.State != imgward.OfferActive {
			return errors.E(errors.Conflict, errors.Msg("offer is "+string(o.State)))
		}
		if u.Title != nil {
			o.Title = *u.Title
		}
		if u.Description != nil {
			o.Description = *u.Description
		}
		if err := checkOfferText(o.Title, o.Description); err != nil {
			return err
		}
		detail := "text"
		if price != nil {
			o.Price = *price
			detail = "price " + FormatAmount(price.Micros) + " " + price.Currency + " per " + string(price.Per)
		}
		o.UpdatedAt = s.stamp()
		if err := tx.UpdateOffer(ctx, o); err != nil {
			return err
		}
		if v, err = view(ctx, tx, o); err != nil {
			return err
		}
		return s.audit(ctx, tx, p, "offer.update", offerObject(id), detail)
	})
	if err != nil {
		return nil, s.finish(ctx, p, errors.E(op, err))
	}
	return v, nil
}

// WithdrawOffer withdraws an offer (its seller or an admin): no new
// subscriptions; existing ones keep running until cancelled.
func (s *Service) WithdrawOffer(ctx context.Context, p imgward.Principal, id imgward.OfferID) (*OfferView, error) {
	const op = "catalog.WithdrawOffer"
	var v *OfferView
	err := s.store.Update(ctx, func(tx imgward.Tx) error {
		o, err := s.ownOffer(ctx, tx, p, id, "offer.withdraw")
		if err != nil {
			return err
		}
		if o.State == imgward.OfferWithdrawn {
			return errors.E(errors.Conflict, errors.Msg("offer is withdrawn already"))
		}
		o.State, o.UpdatedAt = imgward.OfferWithdrawn, s.stamp()
		if err := tx.UpdateOffer(ctx, o); err != nil {
			return err
		}
		if v, err = view(ctx, tx, o); err != nil {
			return err
		}
		return s.audit(ctx, tx, p, "offer.withdraw", offerObject(id), "")
	})
	if err != nil {
		return nil, s.finish(ctx, p, errors.E(op, err))
	}
	return v, nil
}

// ownOffer reads an offer that p sells (or any, for an admin).
func (s *Service) ownOffer(ctx context.Context, tx imgward.Tx, p imgward.Principal, id imgward.OfferID, action string) (*imgward.Offer, error) {
	o, err := visibleOffer(ctx, tx, p, id)
	if err != nil {
		return nil, denied(action, offerObject(id), "no such offer or not visible", err)
	}
	if o.Owner != p.ProjectID && !p.IsAdmin() {
		return nil, denied(action, offerObject(id), "not the seller",
			errors.E(errors.Permission, errors.Msg("only the seller may change an offer")))
	}
	return o, nil
}
