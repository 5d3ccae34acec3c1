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

// verdict is what detect found about an upload: its own flag, the part of
// protected images it holds (kept so that the owner's later uploads are
// weighed with it), and the flags of the owner's earlier uploads that,
// together with this one, hold a protected image.
type verdict struct {
	flag   *imgward.Flag
	part   *fingerprint.Fingerprint
	others []imgward.Flag
}

// detect decides whether an upload is to be flagged: sealed bytes bound to
// another owner, or a plaintext derived from another owner's protected
// image, alone or with the owner's other uploads (fingerprint.Rule). It
// reads outside the upload's final transaction, since comparing
// fingerprints is slow; the flags are written in that transaction.
func (s *Service) detect(ctx context.Context, img *imgward.Image, in *ingested) (*verdict, error) {
	now := s.stamp()
	v := &verdict{}
	if h := in.foreign; h != nil {
		if h.Owner == img.Owner {
			return v, nil
		}
		v.flag = &imgward.Flag{ImageID: img.ID, Fraction: 1, CreatedAt: now,
			Reason: "sealed image of another owner (" + string(h.Owner) + ")"}
		if validUUID(string(h.ImageID)) {
			v.flag.DerivedFrom = h.ImageID
		}
		return v, nil
	}
	if in.fp == nil || in.fp.Len() == 0 {
		return v, nil
	}
	var theirs, mine []imgward.ImageFingerprint
	err := s.store.View(ctx, func(tx imgward.Tx) error {
		var err error
		if theirs, err = tx.ProtectedFingerprints(ctx, img.Owner); err != nil || len(theirs) == 0 {
			return err
		}
		mine, err = tx.OwnerFingerprints(ctx, img.Owner)
		return err
	})
	if err != nil {
		return nil, err
	}
	parts := s.parseAll(mine, img.ID)
	flagged := map[imgward.ImageID]bool{}
	for _, t := range theirs {
		x, err := fingerprint.Parse(t.Sums)
		if err != nil {
			s.log.Warn("stored fingerprint unreadable", "image", t.ImageID, "err", err)
			continue
		}
		// The share of the protected image found in the upload: a copy
		// that adds much of its own still holds all of the original.
		frac := fingerprint.Similarity(x, in.fp)
		if frac > s.prot.threshold && (v.flag == nil || frac > v.flag.Fraction) {
			v.flag = &imgward.Flag{ImageID: img.ID, DerivedFrom: t.ImageID, Fraction: frac, CreatedAt: now,
				Reason: fmt.Sprintf("derived from image %s (%.0f%% of its content)", t.ImageID, 100*frac)}
		}
		if !s.prot.rule.IsPart(x, in.fp) {
			continue
		}
		own := fingerprint.Intersect(in.fp, x)
		v.part = fingerprint.Union(v.part, own)
		// The owner's earlier parts of x: what they keep is their
		// intersection with protected images, so a part of another
		// protected image that shares a little with x counts only if it
		// holds the rule's floor of x.
		union, with := own, []imgward.ImageID(nil)
		var fracs []float64
		for _, m := range parts {
			if f := fingerprint.Similarity(x, m.fp); f >= s.prot.rule.Floor {
				union = fingerprint.Union(union, m.fp)
				with, fracs = append(with, m.id), append(fracs, f)
			}
		}
		cover := fingerprint.Similarity(x, union)
		if len(with) == 0 || cover <= s.prot.threshold {
			continue
		}
		reason := func(f float64) string {
			return fmt.Sprintf("with %d other upload(s) of project %s, derived from image %s (%.0f%% of its content here, %.0f%% together)",
				len(with), img.Owner, t.ImageID, 100*f, 100*cover)
		}
		if v.flag == nil {
			v.flag = &imgward.Flag{ImageID: img.ID, DerivedFrom: t.ImageID, Fraction: frac, CreatedAt: now, Reason: reason(frac)}
		}
		for i, id := range with {
			if !flagged[id] {
				flagged[id] = true
				v.others = append(v.others, imgward.Flag{ImageID: id, DerivedFrom: t.ImageID, Fraction: fracs[i], CreatedAt: now, Reason: reason(fracs[i])})
			}
		}
	}
	return v, nil
}

type ownedPart struct {
	id imgward.ImageID
	fp *fingerprint.Fingerprint
}

// parseAll decodes the owner's stored fingerprints but that of the upload
// itself (a re-upload replaces it).
func (s *Service) parseAll(fs []imgward.ImageFingerprint, self imgward.ImageID) []ownedPart {
	out := make([]ownedPart, 0, len(fs))
	for _, f := range fs {
		if f.ImageID == self {
			continue
		}
		x, err := fingerprint.Parse(f.Sums)
		if err != nil {
			s.log.Warn("stored fingerprint unreadable", "image", f.ImageID, "err", err)
			continue
		}
		out = append(out, ownedPart{f.ImageID, x})
	}
	return out
}

// recordProtection writes, in the upload's final transaction, the key and
// fingerprint of a protected image, the part of protected images that a
// plain upload holds, and the flags of suspect images. A flagged
// plaintext is made private, so that its existing members lose it too:
// sealed copies are useless without a key, plaintext ones are not.
func (s *Service) recordProtection(ctx context.Context, tx imgward.Tx, p imgward.Principal, img *imgward.Image, in *ingested, v *verdict) error {
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
	} else if v != nil && v.part != nil {
		// Only the chunks it shares with protected images: bounded by
		// them, and all that later uploads are weighed against.
		sums, _ := v.part.MarshalBinary()
		if err := tx.PutFingerprint(ctx, &imgward.ImageFingerprint{ImageID: img.ID, Owner: img.Owner, Sums: sums}); err != nil {
			return err
		}
	}
	if v == nil {
		return nil
	}
	if v.flag != nil {
		if err := tx.CreateFlag(ctx, v.flag); errors.Is(errors.Exist, err) {
			if err := tx.UpdateFlag(ctx, v.flag); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		if err := s.flagged(ctx, tx, img, v.flag.Reason, in.foreign == nil); err != nil {
			return err
		}
	}
	return s.flagOthers(ctx, tx, v.others)
}

// recheckParts weighs an upload that is a part of a protected image once
// more, after its commit. detect read the owner's parts before, so two
// parts uploaded at once may each have missed the other; the later of the
// two commits sees the earlier here, and flags both. A failure is logged:
// the upload itself is done.
func (s *Service) recheckParts(ctx context.Context, img *imgward.Image, in *ingested) {
	v, err := s.detect(ctx, img, in)
	if err == nil && v.flag != nil {
		v.others = append(v.others, *v.flag)
	}
	if err == nil && len(v.others) > 0 {
		err = s.store.Update(ctx, func(tx imgward.Tx) error { return s.flagOthers(ctx, tx, v.others) })
	}
	if err != nil {
		s.log.Warn("weighing an upload's parts again", "image", img.ID, "err", err)
	}
}

// flagOthers flags images other than the one being uploaded, found to be
// parts of a protected image, unless they have a flag.
func (s *Service) flagOthers(ctx context.Context, tx imgward.Tx, fs []imgward.Flag) error {
	for i := range fs {
		f := &fs[i]
		// An earlier upload keeps the flag it has, standing or cleared:
		// an admin who cleared it has judged it.
		if _, err := tx.Flag(ctx, f.ImageID); err == nil {
			continue
		} else if !errors.Is(errors.NotExist, err) {
			return err
		}
		other, err := tx.Image(ctx, f.ImageID)
		if errors.Is(errors.NotExist, err) {
			continue // deleted since detect read it
		} else if err != nil {
			return err
		}
		if err := tx.CreateFlag(ctx, f); err != nil {
			return err
		}
		if err := s.flagged(ctx, tx, other, f.Reason, true); err != nil {
			return err
		}
	}
	return nil
}

// flagged audits a new flag on img and, for a plaintext, makes img private.
func (s *Service) flagged(ctx context.Context, tx imgward.Tx, img *imgward.Image, reason string, plaintext bool) error {
	if plaintext && img.Visibility != imgward.Private {
		reason += "; visibility " + string(img.Visibility) + " -> private"
		img.Visibility = imgward.Private
		img.UpdatedAt = s.stamp()
		if err := tx.UpdateImage(ctx, img); err != nil {
			return err
		}
	}
	return s.audit(ctx, tx, imgward.Principal{}, "image.flag", imageObject(img.ID), reason)
}

// checkShareable refuses to widen who may use a flagged image.
func checkShareable(ctx context.Context, tx imgward.Tx, action, object string, id imgward.ImageID) error {
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
