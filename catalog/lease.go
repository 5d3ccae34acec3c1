package catalog

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"

	"imgward"
	"imgward/errors"
)

// Several nodes may serve one store. A job that must run on one node at a
// time (a key rotation), or that others must know is alive (an upload in
// progress), holds a lease in the store: a row naming its node and an
// expiry, renewed by the node every third of the lease period. A node that
// dies stops renewing, and once its leases expire the others take over:
// an upload it held returns to queued (RecoverUploads).

// DefaultLeasePeriod is how long a lease lives unrenewed: an upload cut by
// a node's crash is queued again within about this long plus the period of
// the recovery.
const DefaultLeasePeriod = 30 * time.Second

// node is this Service's identity in leases.
type node struct {
	name   string        // unique per process: a restarted node is another holder
	period time.Duration // of its leases
}

// WithNode names this node in the leases it takes, and sets their period
// (0: DefaultLeasePeriod). name should tell an operator which node holds a
// lease; a random suffix per process is added, so that a node restarted
// within a lease period does not take over the leases of its former life
// (each job adds its own suffix too: newLease).
func WithNode(name string, period time.Duration) Option {
	return func(s *Service) {
		b := make([]byte, 4)
		rand.Read(b)
		s.node.name = name + "/" + hex.EncodeToString(b)
		s.node.period = period
	}
}

// NodeName returns the name this Service holds leases under.
func (s *Service) NodeName() string { return s.node.name }

// LeasePeriod returns the period of this Service's leases.
func (s *Service) LeasePeriod() time.Duration { return s.node.period }

func uploadLease(id imgward.ImageID) string { return "upload/" + string(id) }

func rotateLease(id imgward.KeyID) string { return "rotate/" + string(id) }

// lease is a lease held by one job of this node: its owner names the node
// and the job, so that two jobs of one node exclude each other as well.
type lease struct {
	name, owner string
}

// newLease names a lease for a new job of this node.
func (s *Service) newLease(name string) lease {
	b := make([]byte, 4)
	rand.Read(b)
	return lease{name: name, owner: s.node.name + "#" + hex.EncodeToString(b)}
}

// takeLease takes or renews l, in tx.
func (s *Service) takeLease(ctx context.Context, tx imgward.Tx, l lease) error {
	now := s.now()
	return tx.TakeLease(ctx, l.name, l.owner, now.Add(s.node.period), now)
}

// holdLease renews l, already taken, every third of the period
// until the returned stop is called. lost is closed if a renewal finds the
// lease taken by another node: the job must then not commit its result.
func (s *Service) holdLease(ctx context.Context, l lease) (stop func(), lost <-chan struct{}) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	lostc := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(s.node.period / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				err := s.store.Update(ctx, func(tx imgward.Tx) error { return s.takeLease(ctx, tx, l) })
				if errors.Is(errors.Conflict, err) {
					close(lostc)
					return
				} else if err != nil && ctx.Err() == nil {
					s.log.Warn("lease not renewed", "lease", l.name, "err", err)
				}
			}
		}
	}()
	return func() { cancel(); wg.Wait() }, lostc
}

// holdsLease reports, in tx, whether l is still held.
func (s *Service) holdsLease(ctx context.Context, tx imgward.Tx, l lease) (bool, error) {
	got, err := tx.Lease(ctx, l.name)
	if errors.Is(errors.NotExist, err) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return got.Owner == l.owner, nil
}

// releaseLease drops l if it is still held.
func (s *Service) releaseLease(ctx context.Context, tx imgward.Tx, l lease) error {
	return tx.ReleaseLease(ctx, l.name, l.owner)
}

// RecoverUploads returns to queued the images saving whose upload lease
// has expired or was never taken: the node that uploaded died (or a crash
// cut the upload), its data never became visible, and the upload must be
// made again. Every node runs it periodically (server.Service) and at its
// start. It returns the number of images reset.
func (s *Service) RecoverUploads(ctx context.Context) (int, error) {
	return s.resetUploads(ctx, func(tx imgward.Tx, img *imgward.Image) (bool, error) {
		l, err := tx.Lease(ctx, uploadLease(img.ID))
		if errors.Is(errors.NotExist, err) {
			return true, nil
		} else if err != nil {
			return false, err
		}
		return !l.ExpiresAt.After(s.now()), nil
	})
}

// RecoverOwnUploads returns to queued every image saving: for a store that
// only this node uses, at its start, when no upload can be in progress.
func (s *Service) RecoverOwnUploads(ctx context.Context) (int, error) {
	return s.resetUploads(ctx, func(imgward.Tx, *imgward.Image) (bool, error) { return true, nil })
}

// resetUploads returns to queued the images saving for which reset is true,
// and drops their upload leases.
func (s *Service) resetUploads(ctx context.Context, reset func(imgward.Tx, *imgward.Image) (bool, error)) (int, error) {
	n := 0
	err := s.store.Update(ctx, func(tx imgward.Tx) error {
		n = 0
		imgs, err := tx.ImagesInStatus(ctx, imgward.StatusSaving)
		if err != nil {
			return err
		}
		for i := range imgs {
			if ok, err := reset(tx, &imgs[i]); err != nil {
				return err
			} else if !ok {
				continue
			}
			imgs[i].Status, imgs[i].UpdatedAt = imgward.StatusQueued, s.stamp()
			if err := tx.UpdateImage(ctx, &imgs[i]); err != nil {
				return err
			}
			if l, err := tx.Lease(ctx, uploadLease(imgs[i].ID)); err == nil {
				if err := tx.ReleaseLease(ctx, l.Name, l.Owner); err != nil {
					return err
				}
			}
			if err := s.audit(ctx, tx, imgward.Principal{}, "image.upload", imageObject(imgs[i].ID), "interrupted upload reset to queued"); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, errors.E("catalog.RecoverUploads", err)
	}
	return n, nil
}
