package catalog

import (
	"context"
	"io"
	"maps"

	"imgward"
	"imgward/errors"
)

// Sealing an unprotected image for an offer is all or nothing. The sealed
// copy is written under a new blob key while the plaintext stays where the
// record says; one transaction then records the offer and switches the
// record (protect mode, key, fingerprint, blob key) to the sealed copy;
// only after it commits does the plaintext go. A reader sees the old
// record with the plaintext or the new record with the sealed data, never
// a mix. Every blob that a crash could leave unreferenced is first
// recorded stale (imgward.StaleBlob), and SweepBlobs removes it. The
// image's seal lease, held throughout, refuses a second concurrent offer
// and keeps the sweep off a blob still being written.

func sealLease(id imgward.ImageID) string { return "seal/" + string(id) }

// reseal is an image's data sealed under a new blob key, not yet the
// data of record.
type reseal struct {
	in    *ingested
	key   string // the new blob key
	old   string // the blob key the record names until the switch
	lease lease
	stop  func() // stops renewing the lease
}

// sealForOffer seals img's data under a new key and data key. The caller
// switches the record to it in its transaction (commit) and then drops
// the old data (dropOld), or, if anything failed, drops the new (abort).
func (s *Service) sealForOffer(ctx context.Context, p imgward.Principal, img *imgward.Image) (*reseal, error) {
	if s.prot.keys == nil {
		return nil, errors.E(errors.Conflict, errors.Msg("the image is unprotected and this server has no key service to seal it"))
	}
	r := &reseal{key: string(img.ID) + "-s" + randomHex(8), old: img.BlobKey(), lease: s.newLease(sealLease(img.ID))}
	err := s.store.Update(ctx, func(tx imgward.Tx) error {
		if err := s.takeLease(ctx, tx, r.lease); errors.Is(errors.Conflict, err) {
			return errors.E(errors.Conflict, errors.Msg("the image is being offered by another request"))
		} else if err != nil {
			return err
		}
		// Under the lease, as img was read: not offered meanwhile by a
		// request that held the lease before, which moved its data.
		cur, err := s.offerable(ctx, tx, p, img.ID)
		if err != nil {
			return err
		}
		if !cur.UpdatedAt.Equal(img.UpdatedAt) || cur.BlobKey() != img.BlobKey() {
			return errors.E(errors.Conflict, errors.Msg("the image changed while it was offered; try again"))
		}
		return tx.AddStaleBlob(ctx, &imgward.StaleBlob{Key: r.key, ImageID: img.ID, CreatedAt: s.stamp()})
	})
	if err != nil {
		return nil, err
	}
	var lost <-chan struct{}
	r.stop, lost = s.holdLease(ctx, r.lease)
	r.in, err = s.sealExisting(ctx, img, r.key)
	select {
	case <-lost:
		if err == nil {
			err = errors.E(errors.Conflict, errors.Msg("the image's seal lease was lost; try again"))
		}
	default:
	}
	if err != nil {
		s.abort(ctx, r)
		return nil, err
	}
	return r, nil
}

// sealExisting seals the data of an unprotected image to blob key: the
// plaintext is read from the blob store and written sealed under a new
// data key, and fingerprinted, so that copies of it are recognized.
func (s *Service) sealExisting(ctx context.Context, img *imgward.Image, key string) (*ingested, error) {
	rc, _, err := s.blobs.Open(ctx, img.BlobKey())
	if errors.Is(errors.NotExist, err) {
		// Deleted meanwhile: the transaction that would record the offer
		// would find no image.
		return nil, errors.E(errors.Conflict, errors.Msg("the image changed while it was offered; try again"), err)
	} else if err != nil {
		return nil, errors.E(errors.Internal, err)
	}
	defer rc.Close()
	full := *img
	full.Blob = key
	full.Properties = maps.Clone(img.Properties)
	if full.Properties == nil {
		full.Properties = map[string]string{}
	}
	full.Properties[PropProtect] = string(imgward.ProtectFull)
	in, err := s.ingest(ctx, &full, io.LimitReader(rc, s.limits.MaxImageSize+1))
	if err != nil {
		return nil, err
	}
	if in.foreign != nil {
		return nil, errors.E(errors.Conflict, errors.Msg("the image's data is a sealed image of another owner"))
	}
	return in, nil
}

// commit switches img's record to the sealed data, in tx: the new blob is
// no longer stale, the old one is. Conflict if the lease was lost, for
// then a sweep may have taken the new blob.
func (r *reseal) commit(ctx context.Context, s *Service, tx imgward.Tx, img *imgward.Image) error {
	lost := errors.E(errors.Conflict, errors.Msg("the image's seal lease was lost; try again"))
	if held, err := s.holdsLease(ctx, tx, r.lease); err != nil {
		return err
	} else if !held {
		return lost
	}
	if err := tx.DeleteStaleBlob(ctx, r.key); errors.Is(errors.NotExist, err) {
		return lost
	} else if err != nil {
		return err
	}
	err := tx.AddStaleBlob(ctx, &imgward.StaleBlob{Key: r.old, ImageID: img.ID, CreatedAt: s.stamp()})
	if err != nil && !errors.Is(errors.Exist, err) {
		return err
	}
	img.Blob = r.key
	return s.releaseLease(ctx, tx, r.lease)
}

// dropOld removes the data that a committed switch replaced.
func (s *Service) dropOld(ctx context.Context, r *reseal, id imgward.ImageID) {
	r.stop()
	s.dropBlob(context.WithoutCancel(ctx), imgward.StaleBlob{Key: r.old, ImageID: id})
}

// abort removes the sealed data of a switch that did not commit, and
// gives the lease up.
func (s *Service) abort(ctx context.Context, r *reseal) {
	r.stop()
	ctx = context.WithoutCancel(ctx)
	if err := s.blobs.Delete(ctx, r.key); err != nil {
		// The stale record stays: a later sweep removes the blob.
		s.log.Warn("sealed copy not removed", "blob", r.key, "err", err)
		r.key = ""
	}
	err := s.store.Update(ctx, func(tx imgward.Tx) error {
		if r.key != "" {
			if err := tx.DeleteStaleBlob(ctx, r.key); err != nil && !errors.Is(errors.NotExist, err) {
				return err
			}
		}
		return s.releaseLease(ctx, tx, r.lease)
	})
	if err != nil {
		s.log.Warn("seal lease not released", "lease", r.lease.name, "err", err)
	}
}

// dropBlob deletes a blob no record names, then its stale record; if the
// delete fails the record stays for a later sweep.
func (s *Service) dropBlob(ctx context.Context, b imgward.StaleBlob) {
	if err := s.blobs.Delete(ctx, b.Key); err != nil {
		s.log.Warn("stale blob not removed", "blob", b.Key, "err", err)
		return
	}
	err := s.store.Update(ctx, func(tx imgward.Tx) error {
		if err := tx.DeleteStaleBlob(ctx, b.Key); err != nil && !errors.Is(errors.NotExist, err) {
			return err
		}
		return nil
	})
	if err != nil {
		s.log.Warn("stale blob record not removed", "blob", b.Key, "err", err)
	}
}

// maxSweep bounds the stale records one sweep reads.
const maxSweep = 1000

// SweepBlobs removes the blobs that a crash left unreferenced: those
// recorded stale that no image record names, once no job holds their
// image's seal lease. own says that this node alone uses the store and
// has just started, so that no job can be running whatever the leases
// say. Every node runs it at its start and periodically, with
// RecoverUploads. It returns the number of blobs removed.
func (s *Service) SweepBlobs(ctx context.Context, own bool) (int, error) {
	const op = "catalog.SweepBlobs"
	var recs []imgward.StaleBlob
	err := s.store.View(ctx, func(tx imgward.Tx) error {
		var err error
		recs, err = tx.StaleBlobs(ctx, maxSweep)
		return err
	})
	if err != nil {
		return 0, errors.E(op, err)
	}
	n := 0
	for _, b := range recs {
		gone, err := s.sweepBlob(ctx, b, own)
		if err != nil {
			return n, errors.E(op, err)
		}
		if gone {
			n++
		}
	}
	return n, nil
}

// sweepBlob claims b's record in a transaction, so that a switch to b
// that has not committed yet cannot any more, and then deletes the blob
// if no record names it. It reports whether it deleted the blob.
func (s *Service) sweepBlob(ctx context.Context, b imgward.StaleBlob, own bool) (bool, error) {
	remove := false
	err := s.store.Update(ctx, func(tx imgward.Tx) error {
		remove = false
		l, err := tx.Lease(ctx, sealLease(b.ImageID))
		switch {
		case errors.Is(errors.NotExist, err):
		case err != nil:
			return err
		case own:
			// Held by this node's former life: dead, and in the way of
			// the next offer of the image.
			if err := tx.ReleaseLease(ctx, l.Name, l.Owner); err != nil {
				return err
			}
		case l.ExpiresAt.After(s.now()):
			return nil // a job is writing or switching to it
		}
		img, err := tx.Image(ctx, b.ImageID)
		if err != nil && !errors.Is(errors.NotExist, err) {
			return err
		}
		if err := tx.DeleteStaleBlob(ctx, b.Key); errors.Is(errors.NotExist, err) {
			return nil // another sweep took it
		} else if err != nil {
			return err
		}
		remove = img == nil || img.BlobKey() != b.Key
		return nil
	})
	if err != nil || !remove {
		return false, err
	}
	if err := s.blobs.Delete(ctx, b.Key); err != nil {
		// Record it again, so that a later sweep tries again.
		if err := s.store.Update(ctx, func(tx imgward.Tx) error { return tx.AddStaleBlob(ctx, &b) }); err != nil {
			s.log.Warn("stale blob forgotten", "blob", b.Key, "err", err)
		}
		return false, err
	}
	return true, nil
}
