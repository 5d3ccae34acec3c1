package catalog

import (
	"context"
	"time"

	"imgward"
	"imgward/errors"
)

// Metering: an instance of a product-coded image accrues usage from launch
// to termination under the subscription it was launched with, and is
// billed at that subscription's recorded price. Amounts are records, not
// payments, computed in exact integer arithmetic.

// Usage is what one subscription owes within a window.
type Usage struct {
	SubscriptionID imgward.SubscriptionID
	OfferID        imgward.OfferID
	ProjectID      imgward.ProjectID // the buyer
	Instances      int64             // instances that ran within the window
	Micros         int64             // their instance-time within it, in microseconds
	Price          imgward.Price     // recorded at subscription
	Owed           int64             // micro-units of Price.Currency
}

// Hours writes instance-time as decimal hours with 6 fractional digits
// (truncated).
func (u *Usage) Hours() string { return FormatAmount(u.Micros / 3600) }

// maxUsageWindow bounds a report's window.
const maxUsageWindow = 10 * 366 * 24 * time.Hour

const month = 30 * 24 * time.Hour

// OfferUsage reports, per subscription to an offer, the instance-hours
// within [from, to) and the amount owed (the seller or an admin only).
func (s *Service) OfferUsage(ctx context.Context, p imgward.Principal, id imgward.OfferID, from, to time.Time) ([]Usage, error) {
	const op = "catalog.OfferUsage"
	if err := checkWindow(from, to); err != nil {
		return nil, errors.E(op, err)
	}
	var us []Usage
	err := s.store.View(ctx, func(tx imgward.Tx) error {
		o, err := s.ownOffer(ctx, tx, p, id, "offer.usage")
		if err != nil {
			return err
		}
		subs, err := tx.ListSubscriptions(ctx, imgward.SubscriptionFilter{OfferID: o.ID})
		if err != nil {
			return err
		}
		rows, err := tx.Usage(ctx, o.ID, "", from, to)
		if err != nil {
			return err
		}
		us, err = bill(subs, rows, from, to)
		return err
	})
	if err != nil {
		return nil, s.finish(ctx, p, errors.E(op, err))
	}
	return us, nil
}

// BuyerUsage reports the caller's project's usage of every offer it
// subscribed to within [from, to).
func (s *Service) BuyerUsage(ctx context.Context, p imgward.Principal, from, to time.Time) ([]Usage, error) {
	const op = "catalog.BuyerUsage"
	if err := checkWindow(from, to); err != nil {
		return nil, errors.E(op, err)
	}
	var us []Usage
	err := s.store.View(ctx, func(tx imgward.Tx) error {
		subs, err := tx.ListSubscriptions(ctx, imgward.SubscriptionFilter{ProjectID: p.ProjectID})
		if err != nil {
			return err
		}
		rows, err := tx.Usage(ctx, "", p.ProjectID, from, to)
		if err != nil {
			return err
		}
		us, err = bill(subs, rows, from, to)
		return err
	})
	if err != nil {
		return nil, errors.E(op, err)
	}
	return us, nil
}

func checkWindow(from, to time.Time) error {
	switch {
	case from.IsZero() || to.IsZero():
		return invalid("from and to must be set (RFC 3339 times)")
	case !from.Before(to):
		return invalid("from must be before to")
	case to.Sub(from) > maxUsageWindow:
		return invalid("the window may span at most ten years")
	}
	return nil
}

// bill prices the usage rows of subscriptions: per hour by instance-time,
// per month by the subscription's time within the window, once if it was
// made within the window. A subscription that owes nothing and ran
// nothing is left out.
func bill(subs []imgward.Subscription, rows []imgward.UsageRow, from, to time.Time) ([]Usage, error) {
	byID := make(map[imgward.SubscriptionID]imgward.UsageRow, len(rows))
	for _, r := range rows {
		byID[r.SubscriptionID] = r
	}
	us := []Usage{}
	for _, sub := range subs {
		r := byID[sub.ID]
		u := Usage{SubscriptionID: sub.ID, OfferID: sub.OfferID, ProjectID: sub.ProjectID,
			Instances: r.Instances, Micros: r.Micros, Price: sub.Price}
		var ok bool
		switch sub.Price.Per {
		case imgward.PerHour:
			u.Owed, ok = prorate(sub.Price.Micros, r.Micros, time.Hour.Microseconds())
		case imgward.PerMonth:
			end := to
			if !sub.CancelledAt.IsZero() && sub.CancelledAt.Before(to) {
				end = sub.CancelledAt
			}
			start := from
			if sub.CreatedAt.After(from) {
				start = sub.CreatedAt
			}
			u.Owed, ok = prorate(sub.Price.Micros, end.Sub(start).Microseconds(), month.Microseconds())
		case imgward.PerOnce:
			if !sub.CreatedAt.Before(from) && sub.CreatedAt.Before(to) {
				u.Owed = sub.Price.Micros
			}
			ok = true
		}
		if !ok {
			return nil, errors.E(errors.Internal, errors.Msg("amount owed by subscription "+string(sub.ID)+" overflows"))
		}
		if u.Owed != 0 || u.Instances != 0 {
			us = append(us, u)
		}
	}
	return us, nil
}
