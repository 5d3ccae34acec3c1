package catalog

import (
	"bytes"
	"context"
	"fmt"

	"imgward"
	"imgward/errors"
)

// rotateBatch bounds the key records re-wrapped in one store transaction,
// so that a rotation over many images holds the single writer only for
// short spells, and an interruption loses at most one batch of work.
const rotateBatch = 100

// KeyRotation is the outcome of RotateKeys.
type KeyRotation struct {
	KeyID     imgward.KeyID
	Version   uint32   // the new current version
	Rewrapped int      // key records moved to it by this call
	Retired   []uint32 // the versions retired by this call
}

// RotateKeys rotates the master key of image data keys (admin only): it
// adds a version in the KMS and re-wraps every image key record under the
// key to it, without touching the sealed images, whose headers keep the
// version they were sealed under (the broker accepts an older one; see
// broker.unseal). Records already at the new version or past it are
// skipped; run again after an interruption, it rotates once more and moves
// every record still behind, and no version is retired before then.
//
// With retire, the older versions are then destroyed in the KMS: refused
// (Conflict) while a protected upload is in progress, or while any record
// still uses an older version. An image created while the key rotates with
// a data key from the old version is one of those records if it committed
// before the check; one committed after it would be lost, so retire when
// no image is being created.
func (s *Service) RotateKeys(ctx context.Context, p imgward.Principal, retire bool) (*KeyRotation, error) {
	const op = "catalog.RotateKeys"
	object := "key/" + string(s.prot.keyID)
	if err := s.requireAdmin(ctx, p, op, "key.rotate", object); err != nil {
		return nil, err
	}
	if s.prot.keys == nil {
		return nil, errors.E(op, errors.NotExist, errors.Msg("this server has no key service"))
	}
	// One rotation at a time in the cluster: two at once would make two
	// versions, and one's retirement could destroy the version the other
	// is re-wrapping to.
	lease := s.newLease(rotateLease(s.prot.keyID))
	err := s.store.Update(ctx, func(tx imgward.Tx) error { return s.takeLease(ctx, tx, lease) })
	if errors.Is(errors.Conflict, err) {
		// Refused, and audited with the holder, so that the log says why
		// this admin's rotation did nothing.
		holder := "another node"
		s.store.View(ctx, func(tx imgward.Tx) error {
			if l, err := tx.Lease(ctx, lease.name); err == nil {
				holder = l.Owner
			}
			return nil
		})
		return nil, s.deny(ctx, p, "key.rotate", object, "a rotation is in progress on "+holder,
			errors.E(op, errors.Conflict, errors.Msg("a rotation of this key is in progress on another node; try again when it ends"), err))
	} else if err != nil {
		return nil, errors.E(op, err)
	}
	stop, lost := s.holdLease(ctx, lease)
	defer func() {
		stop()
		actx := context.WithoutCancel(ctx)
		s.store.Update(actx, func(tx imgward.Tx) error { return s.releaseLease(actx, tx, lease) })
	}()
	v, err := s.prot.keys.Rotate(ctx, s.prot.keyID)
	if err != nil {
		return nil, errors.E(op, errors.Unavailable, errors.Msg("the key service did not rotate the key"), err)
	}
	rot := &KeyRotation{KeyID: s.prot.keyID, Version: v}
	rot.Rewrapped, err = s.rewrapAll(ctx, v)
	if err == nil {
		var n int
		n, err = s.rewrapIdentity(ctx, v)
		rot.Rewrapped += n
	}
	if err == nil && retire {
		// The renewals notice a lost lease only every third of its period:
		// look in the store too, just before destroying anything.
		held := false
		select {
		case <-lost:
		default:
			err = s.store.View(ctx, func(tx imgward.Tx) (err error) {
				held, err = s.holdsLease(ctx, tx, lease)
				return err
			})
		}
		if err == nil && !held {
			err = errors.E(errors.Conflict, errors.Msg("the rotation's lease was lost; nothing retired"))
		} else if err == nil {
			rot.Retired, err = s.retireBelow(ctx, v)
		}
	}
	reason := fmt.Sprintf("rotated to v%d; rewrapped %d records; retired %d versions", v, rot.Rewrapped, len(rot.Retired))
	if err != nil {
		// The KMS changed whatever happens next: the log says so, and how
		// far the re-wrap got.
		reason += "; stopped: " + err.Error()
	}
	// A fresh context: a client that hung up must not keep the audit out.
	actx := context.WithoutCancel(ctx)
	if aerr := s.store.Update(actx, func(tx imgward.Tx) error {
		return s.audit(actx, tx, p, "key.rotate", object, reason)
	}); aerr != nil && err == nil {
		err = aerr
	}
	if err != nil {
		return nil, errors.E(op, err)
	}
	return rot, nil
}

// rewrapAll moves every key record under the image key to version, a page
// of records at a time: the KMS re-wraps a page outside any transaction,
// and one transaction stores it, skipping any record that changed or went
// meanwhile (a concurrent rotation, or a deleted image).
func (s *Service) rewrapAll(ctx context.Context, version uint32) (int, error) {
	n := 0
	err := s.eachKeyPage(ctx, func(page []imgward.ImageKey) error {
		var old, moved []imgward.ImageKey
		for _, k := range page {
			if k.Wrapped.KeyID != s.prot.keyID || k.Wrapped.Version >= version {
				continue
			}
			// The image id is the additional data of every image key's
			// wrap: the rewrap keeps it, so the key still opens only for
			// this image.
			w, err := s.prot.keys.Rewrap(ctx, k.Wrapped, []byte(k.ImageID))
			if err != nil {
				return errors.E(kmsKind(err), errors.Msg("cannot re-wrap the key of image "+string(k.ImageID)), err)
			}
			nk := k
			nk.Wrapped = w
			old, moved = append(old, k), append(moved, nk)
		}
		if len(moved) == 0 {
			return nil
		}
		done := 0
		err := s.store.Update(ctx, func(tx imgward.Tx) error {
			done = 0
			for i := range moved {
				cur, err := tx.ImageKey(ctx, moved[i].ImageID)
				if errors.Is(errors.NotExist, err) {
					continue
				} else if err != nil {
					return err
				}
				if !sameWrap(cur.Wrapped, old[i].Wrapped) {
					continue
				}
				cur.Wrapped = moved[i].Wrapped
				if err := tx.UpdateImageKey(ctx, cur); err != nil {
					return err
				}
				done++
			}
			return nil
		})
		if err == nil {
			n += done // a failed transaction stored nothing
		}
		return err
	})
	return n, err
}

// kmsKind is the kind of a KMS failure for the admin who rotates: a KMS
// that is down is worth retrying; anything else (a record whose wrap does
// not open, under a version retired by hand) needs a look first.
func kmsKind(err error) errors.Kind {
	if errors.Is(errors.Unavailable, err) {
		return errors.Unavailable
	}
	return errors.Internal
}

func sameWrap(a, b imgward.WrappedKey) bool {
	return a.KeyID == b.KeyID && a.Version == b.Version && bytes.Equal(a.Ciphertext, b.Ciphertext)
}

// retireBelow destroys the versions of the image key before version, once
// no record and no upload in progress can still need them. Versions retired
// earlier are skipped.
func (s *Service) retireBelow(ctx context.Context, version uint32) ([]uint32, error) {
	// Uploads first: an upload seals under a data key generated after its
	// image turned saving, and records the key when it ends, so one that
	// is not saving now has either recorded its key or will use the new
	// version.
	var saving []imgward.Image
	err := s.store.View(ctx, func(tx imgward.Tx) error {
		var err error
		saving, err = tx.ImagesInStatus(ctx, imgward.StatusSaving)
		return err
	})
	if err != nil {
		return nil, err
	}
	for i := range saving {
		if protectMode(&saving[i]) != imgward.ProtectNone {
			return nil, errors.E(errors.Conflict, errors.Msg("a protected upload is in progress (image "+
				string(saving[i].ID)+"); retire older versions when it ends"))
		}
	}
	behind, err := s.countBehind(ctx, version)
	if err != nil {
		return nil, err
	}
	seeds, err := s.identitySeedsBehind(ctx, version)
	if err != nil {
		return nil, err
	}
	behind += len(seeds)
	if behind > 0 {
		return nil, errors.E(errors.Conflict, errors.Msg(fmt.Sprintf(
			"%d image keys still use an older version; rotate again before retiring", behind)))
	}
	var retired []uint32
	for v := uint32(1); v < version; v++ {
		err := s.prot.keys.Retire(ctx, s.prot.keyID, v)
		if errors.Is(errors.NotExist, err) {
			continue
		} else if err != nil {
			return retired, errors.E(kmsKind(err), errors.Msg(fmt.Sprintf("cannot retire version %d", v)), err)
		}
		retired = append(retired, v)
	}
	return retired, nil
}

// countBehind counts the records under the image key before version.
func (s *Service) countBehind(ctx context.Context, version uint32) (int, error) {
	n := 0
	err := s.eachKeyPage(ctx, func(page []imgward.ImageKey) error {
		for _, k := range page {
			if k.Wrapped.KeyID == s.prot.keyID && k.Wrapped.Version < version {
				n++
			}
		}
		return nil
	})
	return n, err
}

// eachKeyPage calls fn with every image key record, a page of rotateBatch
// at a time, each page read in a transaction of its own so that no long
// transaction holds the store while the KMS works.
func (s *Service) eachKeyPage(ctx context.Context, fn func([]imgward.ImageKey) error) error {
	var after imgward.ImageID
	for {
		var page []imgward.ImageKey
		err := s.store.View(ctx, func(tx imgward.Tx) error {
			var err error
			page, err = tx.ListImageKeys(ctx, after, rotateBatch)
			return err
		})
		if err != nil || len(page) == 0 {
			return err
		}
		after = page[len(page)-1].ImageID
		if err := fn(page); err != nil {
			return err
		}
	}
}

// RotateIdentity makes rotate, the identity issuer's Rotate, sign new
// identity documents with a new key (admin only), and audits it. The former
// key keeps verifying the documents it signed until it is retired.
func (s *Service) RotateIdentity(ctx context.Context, p imgward.Principal, rotate func(context.Context) (string, error)) (string, error) {
	const op = "catalog.RotateIdentity"
	if err := s.requireAdmin(ctx, p, op, "identity.rotate", "identity"); err != nil {
		return "", err
	}
	kid, err := rotate(ctx)
	if err != nil {
		return "", errors.E(op, err)
	}
	actx := context.WithoutCancel(ctx)
	err = s.store.Update(actx, func(tx imgward.Tx) error {
		return s.audit(actx, tx, p, "identity.rotate", "identity/"+kid, "new signing key "+kid)
	})
	if err != nil {
		return "", errors.E(op, err)
	}
	return kid, nil
}
