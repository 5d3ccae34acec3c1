package catalog

import (
	"context"
	"fmt"
	"maps"
	"unicode/utf8"

	"imgward"
	"imgward/errors"
)

// Offers put images on sale (issue 13). An offered image is stored sealed,
// visible to everyone as a community image is, and used only under an
// active subscription (entitlement.go); its product code follows every copy.

// Bounds of an offer's text.
const (
	maxOfferTitle       = 200
	maxOfferDescription = 4096
	// MaxOfferPage bounds one page of offers.
	MaxOfferPage = 1000
)

// OfferStateSuspended is how an active offer of a flagged seller shows: it
// takes no new subscriptions until the seller is cleared.
const OfferStateSuspended imgward.OfferState = "suspended"

// OfferInput is a new offer as a client writes it.
type OfferInput struct {
	ImageID     imgward.ImageID
	Title       string
	Description string
	Price       PriceInput
}

// OfferView is an offer as a client sees it: with its seller's profile,
// and State suspended while the seller is flagged.
type OfferView struct {
	imgward.Offer
	Publisher imgward.Publisher
	// Sealed says that the image was unprotected and imgward sealed it
	// when it was offered: the owner is told.
	Sealed bool
}

func offerObject(id imgward.OfferID) string { return "offer/" + string(id) }

func checkOfferText(title, desc string) error {
	switch {
	case title == "" || len(title) > maxOfferTitle || !utf8.ValidString(title):
		return invalid(fmt.Sprintf("title must be 1 to %d bytes of UTF-8", maxOfferTitle))
	case len(desc) > maxOfferDescription || !utf8.ValidString(desc):
		return invalid(fmt.Sprintf("description must be at most %d bytes of UTF-8", maxOfferDescription))
	}
	return nil
}

// CreateOffer offers an image of the caller's project for sale. The image
// must be active and carry neither another seller's product code nor a
// standing derived-image flag (Conflict, saying which). An unprotected
// image is sealed first, so that buyers get its content only through the
// key broker.
func (s *Service) CreateOffer(ctx context.Context, p imgward.Principal, in OfferInput) (*OfferView, error) {
	const op = "catalog.CreateOffer"
	if err := checkOfferText(in.Title, in.Description); err != nil {
		return nil, errors.E(op, err)
	}
	price, err := parsePrice(in.Price)
	if err != nil {
		return nil, errors.E(op, err)
	}
	if !validUUID(string(in.ImageID)) {
		return nil, s.deny(ctx, p, "offer.create", imageObject(in.ImageID), "no such image", notFound(op))
	}
	var img *imgward.Image
	err = s.store.View(ctx, func(tx imgward.Tx) error {
		var err error
		img, err = s.offerable(ctx, tx, p, in.ImageID)
		return err
	})
	if err != nil {
		return nil, s.finish(ctx, p, errors.E(op, err))
	}
	var r *reseal
	if protectMode(img) == imgward.ProtectNone {
		if r, err = s.sealForOffer(ctx, p, img); err != nil {
			return nil, s.finish(ctx, p, errors.E(op, err))
		}
	}
	now := s.stamp()
	v := &OfferView{Offer: imgward.Offer{ID: imgward.OfferID("offer-" + randomHex(8)), ImageID: img.ID,
		Owner: img.Owner, ProductCode: imgward.ProductCode(randomHex(16)), Title: in.Title,
		Description: in.Description, Price: price, State: imgward.OfferActive, CreatedAt: now, UpdatedAt: now},
		Sealed: r != nil}
	err = s.store.Update(ctx, func(tx imgward.Tx) error {
		cur, err := s.offerable(ctx, tx, p, in.ImageID)
		if err != nil {
			return err
		}
		if !cur.UpdatedAt.Equal(img.UpdatedAt) {
			return errors.E(errors.Conflict, errors.Msg("the image changed while it was offered; try again"))
		}
		if err := s.listOffered(ctx, tx, p, cur, r); err != nil {
			return err
		}
		if err := tx.CreateOffer(ctx, &v.Offer); err != nil {
			return err
		}
		if err := tx.SetProductCode(ctx, cur.ID, v.ProductCode); err != nil {
			return err
		}
		if v.Publisher, err = publisherOf(ctx, tx, cur.Owner); err != nil {
			return err
		}
		return s.audit(ctx, tx, p, "offer.create", offerObject(v.ID),
			fmt.Sprintf("image %s at %s %s per %s", cur.ID, FormatAmount(price.Micros), price.Currency, price.Per))
	})
	if err != nil {
		if r != nil {
			s.abort(ctx, r)
		}
		return nil, s.finish(ctx, p, errors.E(op, err))
	}
	if r != nil {
		s.dropOld(ctx, r, img.ID)
	}
	return v, nil
}

// offerable reads an image that p may offer, or says why not.
func (s *Service) offerable(ctx context.Context, tx imgward.Tx, p imgward.Principal, id imgward.ImageID) (*imgward.Image, error) {
	a, err := loadAccess(ctx, tx, p, id)
	if err != nil {
		if d := (*denial)(nil); errors.As(err, &d) {
			d.action = "offer.create"
		}
		return nil, err
	}
	object := imageObject(id)
	conflict := func(why string) error {
		return denied("offer.create", object, why, errors.E(errors.Conflict, errors.Msg(why)))
	}
	switch {
	case !a.owner:
		return nil, denied("offer.create", object, "not the owner",
			errors.E(errors.Permission, errors.Msg("only the image's owner may offer it")))
	case a.img.Status != imgward.StatusActive:
		return nil, conflict("image is " + string(a.img.Status) + ", not active")
	case a.img.Quarantined:
		return nil, conflict(Quarantined)
	case protectMode(a.img) == imgward.ProtectSensitive:
		return nil, conflict("image is protected sensitive (only some files sealed); offer an image protected full")
	}
	if o, _, err := foreignCode(ctx, tx, id); err != nil {
		return nil, err
	} else if o != nil {
		return nil, conflict("image carries the product code of offer " + string(o.ID) + " of another seller")
	}
	if o, err := codeOffer(ctx, tx, id); err != nil {
		return nil, err
	} else if o != nil {
		return nil, conflict("image is offered already, as offer " + string(o.ID))
	}
	if f, err := tx.Flag(ctx, id); err == nil && !f.Cleared() {
		return nil, conflict("image is flagged: " + f.Reason)
	} else if err != nil && !errors.Is(errors.NotExist, err) {
		return nil, err
	}
	return a.img, nil
}

// listOffered makes an offered image visible to every project as a
// community image, and switches one that was sealed for the offer to its
// sealed data, with its key and fingerprint.
func (s *Service) listOffered(ctx context.Context, tx imgward.Tx, p imgward.Principal, img *imgward.Image, r *reseal) error {
	changed := false
	if r != nil {
		img.Properties = maps.Clone(img.Properties)
		if img.Properties == nil {
			img.Properties = map[string]string{}
		}
		img.Properties[PropProtect] = string(imgward.ProtectFull)
		changed = true
		if err := r.commit(ctx, s, tx, img); err != nil {
			return err
		}
		if err := s.recordProtection(ctx, tx, p, img, r.in, nil); err != nil {
			return err
		}
	}
	if img.Visibility == imgward.Private || img.Visibility == imgward.Shared {
		if err := s.audit(ctx, tx, p, "image.update", imageObject(img.ID),
			"visibility "+string(img.Visibility)+" -> community (offered)"); err != nil {
			return err
		}
		img.Visibility, changed = imgward.Community, true
	}
	if !changed {
		return nil
	}
	img.UpdatedAt = s.stamp()
	return tx.UpdateImage(ctx, img)
}

// publisherOf returns a project's publisher profile, or one made of its
// name when it has set none.
func publisherOf(ctx context.Context, tx imgward.Tx, id imgward.ProjectID) (imgward.Publisher, error) {
	pub, err := tx.Publisher(ctx, id)
	if err == nil {
		return *pub, nil
	} else if !errors.Is(errors.NotExist, err) {
		return imgward.Publisher{}, err
	}
	pr, err := tx.Project(ctx, id)
	if err != nil {
		return imgward.Publisher{}, err
	}
	return imgward.Publisher{ProjectID: id, DisplayName: pr.Name, UpdatedAt: pr.CreatedAt}, nil
}
