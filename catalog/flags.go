package catalog

import (
	"context"
	"fmt"

	"imgward"
	"imgward/errors"
	"imgward/fingerprint"
)

// Flags: an upload that is a sealed copy of another owner's image, or
// whose plaintext holds much of another owner's protected image, is
// flagged, and may not be shared until an admin clears the flag.

// detect decides whether an upload is to be flagged: sealed bytes bound to
// another owner, or a plaintext derived from another owner's protected
// image. It reads outside the upload's final transaction, since comparing
// fingerprints is slow; the flag is written in that transaction.
func (s *Service) detect(ctx context.Context, img *imgward.Image, in *ingested) (*imgward.Flag, error) {
	now := s.stamp()
	if h := in.foreign; h != nil {
		if h.Owner == img.Owner {
			return nil, nil
		}
		f := &imgward.Flag{ImageID: img.ID, Fraction: 1, CreatedAt: now,
			Reason: "sealed image of another owner (" + string(h.Owner) + ")"}
		if validUUID(string(h.ImageID)) {
			f.DerivedFrom = h.ImageID
		}
		return f, nil
	}
	if in.fp == nil || in.fp.Len() == 0 {
		return nil, nil
	}
	var theirs []imgward.ImageFingerprint
	err := s.store.View(ctx, func(tx imgward.Tx) error {
		var err error
		theirs, err = tx.ProtectedFingerprints(ctx, img.Owner)
		return err
	})
	if err != nil {
		return nil, err
	}
	var best *imgward.Flag
	for _, t := range theirs {
		x, err := fingerprint.Parse(t.Sums)
		if err != nil {
			s.log.Warn("stored fingerprint unreadable", "image", t.ImageID, "err", err)
			continue
		}
		// The share of the protected image found in the upload: a copy
		// that adds much of its own still holds all of the original.
		frac := fingerprint.Similarity(x, in.fp)
		if frac > s.prot.threshold && (best == nil || frac > best.Fraction) {
			best = &imgward.Flag{ImageID: img.ID, DerivedFrom: t.ImageID, Fraction: frac, CreatedAt: now,
				Reason: fmt.Sprintf("derived from image %s (%.0f%% of its content)", t.ImageID, 100*frac)}
		}
	}
	return best, nil
}

// recordProtection writes, in the upload's final transaction, the key and
// fingerprint of a protected image and the flag of a suspect one. A
// flagged plaintext is made private, so that its existing members lose it
// too: sealed copies are useless without a key, plaintext ones are not.
func (s *Service) recordProtection(ctx context.Context, tx imgward.Tx, p imgward.Principal, img *imgward.Image, in *ingested, flag *imgward.Flag) error {
	if in.key != nil {
		if err := tx.CreateImageKey(ctx, in.key); err != nil {
			return err
		}
		if in.fp != nil {
			sums, _ := in.fp.MarshalBinary()
			if err := tx.PutFingerprint(ctx, &imgward.ImageFingerprint{ImageID: img.ID, Owner: img.Owner, Sums: sums}); err != nil {
				return err
			}
		}
		if err := s.audit(ctx, tx, p, "image.protect", imageObject(img.ID),
			fmt.Sprintf("sealed under key %s v%d", in.key.Wrapped.KeyID, in.key.Wrapped.Version)); err != nil {
			return err
		}
	}
	if flag == nil {
		return nil
	}
	if err := tx.CreateFlag(ctx, flag); errors.Is(errors.Exist, err) {
		if err := tx.UpdateFlag(ctx, flag); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	reason := flag.Reason
	coded, err := inheritCode(ctx, tx, img, flag)
	if err != nil {
		return err
	}
	if coded != "" {
		reason += "; " + coded
	}
	if (in.foreign == nil || coded != "") && img.Visibility != imgward.Private {
		reason += "; visibility " + string(img.Visibility) + " -> private"
		img.Visibility = imgward.Private
		if err := tx.UpdateImage(ctx, img); err != nil {
			return err
		}
	}
	return s.audit(ctx, tx, imgward.Principal{}, "image.flag", imageObject(img.ID), reason)
}

// checkShareable refuses to widen who may use a flagged image, or one
// that carries another seller's product code (entitle.go).
func checkShareable(ctx context.Context, tx imgward.Tx, action, object string, id imgward.ImageID) error {
	if err := checkCode(ctx, tx, action, object, id); err != nil {
		return err
	}
	f, err := tx.Flag(ctx, id)
	if errors.Is(errors.NotExist, err) {
		return nil
	} else if err != nil {
		return err
	}
	if f.Cleared() {
		return nil
	}
	return denied(action, object, "image is flagged: "+f.Reason,
		errors.E(errors.Permission, errors.Msg("image is flagged: "+f.Reason+"; an admin must clear the flag before it is shared")))
}

// Flags lists the flags that stand, or all (admin only).
func (s *Service) Flags(ctx context.Context, p imgward.Principal, all bool) ([]imgward.Flag, error) {
	const op = "catalog.Flags"
	if err := s.requireAdmin(ctx, p, op, "flag.read", "flags"); err != nil {
		return nil, err
	}
	var fs []imgward.Flag
	err := s.store.View(ctx, func(tx imgward.Tx) error {
		var err error
		fs, err = tx.ListFlags(ctx, all)
		return err
	})
	if err != nil {
		return nil, errors.E(op, err)
	}
	return fs, nil
}

// ClearFlag clears an image's flag (admin only), so that it may be shared.
func (s *Service) ClearFlag(ctx context.Context, p imgward.Principal, id imgward.ImageID) (*imgward.Flag, error) {
	const op = "catalog.ClearFlag"
	if err := s.requireAdmin(ctx, p, op, "flag.clear", imageObject(id)); err != nil {
		return nil, err
	}
	var f *imgward.Flag
	err := s.store.Update(ctx, func(tx imgward.Tx) error {
		var err error
		if f, err = tx.Flag(ctx, id); errors.Is(errors.NotExist, err) {
			return errors.E(errors.NotExist, errors.Msg("the image is not flagged"))
		} else if err != nil {
			return err
		}
		if f.Cleared() {
			return errors.E(errors.Conflict, errors.Msg("the flag is already cleared"))
		}
		f.ClearedBy, f.ClearedAt = p.UserID, s.stamp()
		if err := tx.UpdateFlag(ctx, f); err != nil {
			return err
		}
		return s.audit(ctx, tx, p, "flag.clear", imageObject(id), f.Reason)
	})
	if err != nil {
		return nil, errors.E(op, err)
	}
	return f, nil
}
