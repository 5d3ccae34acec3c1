package catalog

import (
	"imgward"
	"imgward/errors"
	"imgward/fingerprint"
)

// PropProtect is the image property that says how an image is kept at rest
// (imgward.ProtectMode). The owner sets it when creating the image, and it
// never changes: the bytes were stored according to it.
const PropProtect = "imgward_protect"

// DefaultDerivedThreshold is the share of a protected image's content that
// an upload of another owner must hold to be flagged as derived from it.
const DefaultDerivedThreshold = 0.5

// DefaultKeyID is the KMS master key that wraps the data keys of images.
const DefaultKeyID imgward.KeyID = "imgward-images"

// protection is the configuration of image protection.
type protection struct {
	keys      imgward.KeyService // nil: images cannot be protected
	keyID     imgward.KeyID
	threshold float64
	rule      fingerprint.Rule // which of an owner's uploads are weighed together
}

// WithKeys lets the catalog protect images: it seals their data under data
// keys from ks, wrapped by master key id (which must exist).
func WithKeys(ks imgward.KeyService, id imgward.KeyID) Option {
	return func(s *Service) { s.prot.keys, s.prot.keyID = ks, id }
}

// WithDerivedThreshold sets the share of a protected image's content above
// which an upload of another owner is flagged as derived from it.
func WithDerivedThreshold(f float64) Option { return func(s *Service) { s.prot.threshold = f } }

// WithDerivedRule sets which of an owner's uploads count as parts of a
// protected image, to be weighed together (fingerprint.DefaultRule if
// unset).
func WithDerivedRule(r fingerprint.Rule) Option { return func(s *Service) { s.prot.rule = r } }

// setProtect sets the protect mode at creation; the caller creates the
// image for its own project or is an admin, so it is the owner's choice.
func (s *Service) setProtect(img *imgward.Image, v any, creating bool) error {
	if !creating {
		return forbidden(PropProtect + " can be set only when the image is created")
	}
	m, ok := v.(string)
	if !ok {
		return invalid(PropProtect + " must be none, full, sensitive or luks")
	}
	switch imgward.ProtectMode(m) {
	case imgward.ProtectNone:
	case imgward.ProtectFull, imgward.ProtectSensitive, imgward.ProtectLUKS:
		if s.prot.keys == nil {
			return errors.E(errors.Invalid, errors.Msg("this server has no key service; images cannot be protected"))
		}
	default:
		return invalid(PropProtect + " must be none, full, sensitive or luks")
	}
	img.Properties[PropProtect] = m
	return nil
}

// protectMode returns how img is stored.
func protectMode(img *imgward.Image) imgward.ProtectMode {
	if m := imgward.ProtectMode(img.Properties[PropProtect]); m != "" {
		return m
	}
	return imgward.ProtectNone
}
