package catalog

import (
	"context"
	"maps"

	"imgward"
	"imgward/errors"
)

// Entitlement: an image that carries a product code (an offered image, or
// a copy of one that imgward saw) is used by nobody but the code's owner
// and the projects with an active subscription to the code's offer,
// whatever its visibility or membership says.

// Entitlement decides whether project may use img as far as product codes
// go. It returns the subscription the use falls under (nil for an image
// without a product code, or the code owner's own use) or, when project
// is not entitled, the reason. The key broker calls it for an instance's
// project, Launch for the caller's.
func Entitlement(ctx context.Context, tx imgward.Tx, img *imgward.Image, project imgward.ProjectID) (*imgward.Subscription, string, error) {
	// The code came with the image's row: an image without one, the most
	// launched, costs nothing more here.
	if img.ProductCode == "" {
		return nil, "", nil
	}
	o, sub, err := tx.Entitlement(ctx, img.ProductCode, project)
	if err != nil {
		return nil, "", err
	}
	sub, why := Entitled(o, sub, project)
	return sub, why, nil
}

// Entitled is Entitlement on records read already: o issued the image's
// product code, and sub is project's active subscription to o (nil when it
// has none).
func Entitled(o *imgward.Offer, sub *imgward.Subscription, project imgward.ProjectID) (*imgward.Subscription, string) {
	switch {
	case o.Owner == project:
		return nil, ""
	case sub == nil:
		return nil, "subscribe to offer " + string(o.ID) + " first"
	}
	return sub, ""
}

// checkCode refuses to widen who may see or use an image that carries
// another seller's product code (a copy of a paid image): only the
// code's owner may share it, make it public or community, or offer it.
func checkCode(ctx context.Context, tx imgward.Tx, action, object string, id imgward.ImageID) error {
	o, _, err := foreignCode(ctx, tx, id)
	if err != nil || o == nil {
		return err
	}
	why := "image carries the product code of offer " + string(o.ID) + " of another seller (" + string(o.Owner) + ")"
	return denied(action, object, why, errors.E(errors.Permission, errors.Msg(why)))
}

// foreignCode returns the offer whose product code image id carries when
// that offer is not the image owner's (nil otherwise), and the owner.
func foreignCode(ctx context.Context, tx imgward.Tx, id imgward.ImageID) (*imgward.Offer, imgward.ProjectID, error) {
	o, err := codeOffer(ctx, tx, id)
	if err != nil || o == nil {
		return nil, "", err
	}
	img, err := tx.Image(ctx, id)
	if err != nil || o.Owner == img.Owner {
		return nil, "", err
	}
	return o, img.Owner, nil
}

// inheritCode gives a flagged copy the product code of the image it was
// taken from, if that one has one, so that launching the copy needs a
// subscription to the original offer and the copy cannot be shared or
// offered. It returns what it did, for the audit log, or "".
func inheritCode(ctx context.Context, tx imgward.Tx, img *imgward.Image, f *imgward.Flag) (string, error) {
	if f.DerivedFrom == "" {
		return "", nil
	}
	code, err := tx.ProductCode(ctx, f.DerivedFrom)
	if errors.Is(errors.NotExist, err) {
		return "", nil
	} else if err != nil {
		return "", err
	}
	if err := tx.SetProductCode(ctx, img.ID, code); err != nil {
		return "", err
	}
	return "carries the product code of image " + string(f.DerivedFrom), nil
}

// PropProductCode is the read-only image property through which the
// Glance view shows an image's product code.
const PropProductCode = "imgward_product_code"

// showCode adds the image's product code, if it has one, to the
// properties the caller sees; the stored image is not changed.
func showCode(img *imgward.Image) {
	if img.ProductCode == "" {
		return
	}
	img.Properties = maps.Clone(img.Properties)
	if img.Properties == nil {
		img.Properties = map[string]string{}
	}
	img.Properties[PropProductCode] = string(img.ProductCode)
}

// codeOffer returns the offer whose product code image id carries, or nil
// if it carries none.
func codeOffer(ctx context.Context, tx imgward.Tx, id imgward.ImageID) (*imgward.Offer, error) {
	code, err := tx.ProductCode(ctx, id)
	if errors.Is(errors.NotExist, err) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	return tx.OfferByCode(ctx, code)
}
