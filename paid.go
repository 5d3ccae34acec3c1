package imgward

import (
	"context"
	"time"
)

// Paid images (issue 13): a publisher offers an image for sale, a buyer's
// project subscribes, and only an active subscription lets the buyer launch
// the image or have its key released. The offer's product code follows
// every copy of the image that imgward sees.

// OfferID names an offer: "offer-" followed by 16 lowercase hex digits.
type OfferID string

// SubscriptionID names a subscription: "sub-" followed by 16 lowercase hex
// digits.
type SubscriptionID string

// ProductCode marks an offered image and every copy of it: 32 lowercase hex
// digits drawn at random, so that nobody can guess another seller's code.
type ProductCode string

// PricePer is the unit a price is charged for.
type PricePer string

// The price units.
const (
	PerHour  PricePer = "hour"  // per instance-hour, prorated to the microsecond
	PerMonth PricePer = "month" // per 30 days of subscription, prorated
	PerOnce  PricePer = "once"  // once, when the subscription is made
)

// Price is an amount in micro-units of its currency (1 USD = 1,000,000), so
// that amounts are exact integers and never floating point.
type Price struct {
	Micros   int64
	Currency string // ISO 4217, three upper-case letters
	Per      PricePer
}

// OfferState is the life-cycle state of an offer.
type OfferState string

// The offer states. A withdrawn offer takes no new subscriptions; existing
// ones keep running until cancelled.
const (
	OfferActive    OfferState = "active"
	OfferWithdrawn OfferState = "withdrawn"
)

// Offer puts an image on sale.
type Offer struct {
	ID          OfferID
	ImageID     ImageID
	Owner       ProjectID // the seller: the image's owner
	ProductCode ProductCode
	Title       string
	Description string
	Price       Price
	State       OfferState
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// SubscriptionState is the life-cycle state of a subscription.
type SubscriptionState string

// The subscription states.
const (
	SubscriptionActive    SubscriptionState = "active"
	SubscriptionCancelled SubscriptionState = "cancelled"
)

// Subscription is a buyer project's acceptance of an offer: the terms and
// price at that moment are recorded, and later changes to the offer do not
// change them.
type Subscription struct {
	ID          SubscriptionID
	OfferID     OfferID
	ProjectID   ProjectID // the buyer
	UserID      UserID    // the user who subscribed
	Terms       string    // the offer's title and description when subscribed
	Price       Price     // the offer's price when subscribed
	State       SubscriptionState
	CreatedAt   time.Time
	CancelledAt time.Time // zero while active
}

// OfferFilter selects offers for a listing, ordered by CreatedAt then ID.
type OfferFilter struct {
	Owner ProjectID  // only this seller's offers
	State OfferState // only offers in this state
	Title string     // only offers whose title contains this text
	After OfferID    // the last offer of the previous page
	Limit int        // at most this many; 0 means no limit
}

// SubscriptionFilter selects subscriptions, ordered by CreatedAt then ID.
type SubscriptionFilter struct {
	OfferID   OfferID
	ProjectID ProjectID // the buyer
	Seller    ProjectID // subscriptions to this seller's offers
	State     SubscriptionState
}

// MeteredInstance ties an instance of a product-coded image to the
// subscription it was launched under, so that its usage can be billed at
// the subscription's recorded price.
type MeteredInstance struct {
	InstanceID     InstanceID
	SubscriptionID SubscriptionID
	OfferID        OfferID
}

// UsageRow is the usage of one subscription within a time window.
type UsageRow struct {
	SubscriptionID SubscriptionID
	ProjectID      ProjectID
	Instances      int64 // instances that ran within the window
	Micros         int64 // instance-time within the window, in microseconds
}

// PaidTx is the part of Tx that keeps offers, subscriptions and product
// codes. Its errors follow Tx's: NotExist, Exist, stable order.
type PaidTx interface {
	// CreateOffer records an offer. Exist if the image has an offer (an
	// image is offered at most once) or the id or code is taken. The offer
	// outlives its image, for billing: the caller checks the image.
	CreateOffer(ctx context.Context, o *Offer) error
	Offer(ctx context.Context, id OfferID) (*Offer, error)
	// OfferByCode returns the offer that issued a product code.
	OfferByCode(ctx context.Context, code ProductCode) (*Offer, error)
	// UpdateOffer replaces an offer's text, price, state and UpdatedAt.
	UpdateOffer(ctx context.Context, o *Offer) error
	ListOffers(ctx context.Context, f OfferFilter) ([]Offer, error)

	// CreateSubscription records a subscription. Exist if the project has
	// an active subscription to the offer already: a unique constraint, so
	// that two concurrent subscriptions make one.
	CreateSubscription(ctx context.Context, s *Subscription) error
	Subscription(ctx context.Context, id SubscriptionID) (*Subscription, error)
	// ActiveSubscription returns the project's active subscription to an
	// offer; NotExist if it has none.
	ActiveSubscription(ctx context.Context, offer OfferID, project ProjectID) (*Subscription, error)
	// Entitlement reads in one indexed query the offer that issued code
	// and project's active subscription to it (nil when it has none), as
	// a launch checks them. NotExist if no offer issued code.
	Entitlement(ctx context.Context, code ProductCode, project ProjectID) (*Offer, *Subscription, error)
	// UpdateSubscription replaces a subscription's state and CancelledAt.
	UpdateSubscription(ctx context.Context, s *Subscription) error
	ListSubscriptions(ctx context.Context, f SubscriptionFilter) ([]Subscription, error)

	// SetProductCode marks an image with a product code (replacing any).
	// The image must exist; the mark goes with it.
	SetProductCode(ctx context.Context, img ImageID, code ProductCode) error
	// ProductCode returns an image's product code; NotExist if it has none.
	ProductCode(ctx context.Context, img ImageID) (ProductCode, error)

	// CreateMeteredInstance records the subscription an instance runs
	// under, with the instance's times (its termination follows). The
	// instance must exist (NotExist).
	CreateMeteredInstance(ctx context.Context, m *MeteredInstance) error
	// Usage sums, per subscription to the offer (or per subscription of
	// buyer when offer is empty), the time its metered instances ran
	// within [from, to); running instances count up to to.
	Usage(ctx context.Context, offer OfferID, buyer ProjectID, from, to time.Time) ([]UsageRow, error)
}
