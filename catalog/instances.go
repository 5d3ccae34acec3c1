package catalog

import (
	"context"
	"strings"
	"unicode/utf8"

	"imgward"
	"imgward/errors"
)

// Launch records a new running instance of an image, if launch permission
// holds: the caller's project owns the image, the image is public or
// community, or the caller's project is an accepted member; and, for an
// image with a product code, the project has an active subscription to
// the code's offer (entitle.go), under which the instance is metered.
func (s *Service) Launch(ctx context.Context, p imgward.Principal, id imgward.ImageID, host string) (*imgward.Instance, error) {
	const op = "catalog.Launch"
	if !validUUID(string(id)) {
		return nil, s.deny(ctx, p, "instance.launch", imageObject(id), "no such image", notFound(op))
	}
	if err := checkHost(op, host); err != nil {
		return nil, err
	}
	in := s.newInstance(id, host)
	// A hot-path write (imgward.HotUpdater): it reads the rules (member,
	// quarantine, subscription) that only Updates change, and inserts rows
	// of its own.
	err := imgward.UpdateHot(ctx, s.store, func(tx imgward.Tx) error {
		img, m, err := tx.ImageMember(ctx, id, p.ProjectID)
		if err != nil {
			return errors.E("catalog.loadAccess", err)
		}
		return s.launchIn(ctx, tx, p, img, m, in)
	})
	if err != nil {
		return nil, s.finish(ctx, p, errors.E(op, err))
	}
	return in, nil
}

// checkHost checks the host named in a launch: it is stored and shown.
func checkHost(op, host string) error {
	if len(host) > 255 || !utf8.ValidString(host) || strings.ContainsFunc(host, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return errors.E(op, errors.Invalid, errors.Msg("host must be at most 255 printable characters"))
	}
	return nil
}

// newInstance is a launch's instance, its caller (ProjectID, UserID) yet
// to be set.
func (s *Service) newInstance(id imgward.ImageID, host string) *imgward.Instance {
	return &imgward.Instance{ID: imgward.InstanceID("i-" + randomHex(8)), ImageID: id,
		Host: host, State: imgward.InstanceRunning, CreatedAt: s.stamp()}
}

// launchIn applies launch permission to p's launch of img (m: p's
// project's membership of it, or nil), read in tx, and records in, p's
// instance of img, with its audit entry.
func (s *Service) launchIn(ctx context.Context, tx imgward.Tx, p imgward.Principal, img *imgward.Image, m *imgward.Member, in *imgward.Instance) error {
	const op = "catalog.Launch"
	id := img.ID
	in.ProjectID, in.UserID = p.ProjectID, p.UserID
	a, err := newAccess("catalog.loadAccess", p, img, m)
	if err != nil {
		var d *denial
		if errors.As(err, &d) {
			d.action = "instance.launch"
		}
		return err
	}
	// A flagged publisher's images are quarantined (package monitor):
	// no new instance may join the suspect fleet, whoever launches.
	if a.img.Quarantined {
		return denied("instance.launch", imageObject(id), Quarantined,
			errors.E(op, errors.Permission, errors.Msg(Quarantined)))
	}
	if ok, why := a.use(); !ok {
		return denied("instance.launch", imageObject(id), why,
			errors.E(op, errors.Permission, errors.Msg("may not launch: "+why)))
	}
	if a.img.Status != imgward.StatusActive {
		return denied("instance.launch", imageObject(id), "image is "+string(a.img.Status),
			errors.E(op, errors.Conflict, errors.Msg("image is "+string(a.img.Status)+", not active")))
	}
	sub, why, err := Entitlement(ctx, tx, a.img, p.ProjectID)
	if err != nil {
		return err
	} else if why != "" {
		return denied("instance.launch", imageObject(id), why, errors.E(op, errors.Permission, errors.Msg(why)))
	}
	if err := tx.CreateInstance(ctx, in); err != nil {
		return err
	}
	detail := "image " + string(id)
	if sub != nil {
		// Metered from now until it terminates, at sub's price.
		if err := tx.CreateMeteredInstance(ctx, &imgward.MeteredInstance{
			InstanceID: in.ID, SubscriptionID: sub.ID, OfferID: sub.OfferID}); err != nil {
			return err
		}
		detail += " under subscription " + string(sub.ID)
	}
	return s.audit(ctx, tx, p, "instance.launch", "instance/"+string(in.ID), detail)
}

// Instance returns an instance of the caller's project (any, for an admin).
func (s *Service) Instance(ctx context.Context, p imgward.Principal, id imgward.InstanceID) (*imgward.Instance, error) {
	const op = "catalog.Instance"
	var in *imgward.Instance
	err := s.store.View(ctx, func(tx imgward.Tx) error {
		var err error
		in, err = tx.Instance(ctx, id)
		if err == nil && !p.IsAdmin() && in.ProjectID != p.ProjectID {
			err = errors.E(op, errors.NotExist)
		}
		if errors.Is(errors.NotExist, err) {
			return errors.E(op, errors.NotExist, errors.Msg("no such instance"))
		}
		return err
	})
	if err != nil {
		return nil, errors.E(op, err)
	}
	return in, nil
}

// Instances lists instances: the caller's project's, or any for an admin.
func (s *Service) Instances(ctx context.Context, p imgward.Principal, f imgward.InstanceFilter) ([]imgward.Instance, error) {
	const op = "catalog.Instances"
	if !p.IsAdmin() {
		f.ProjectID = p.ProjectID
	}
	if f.State != "" && f.State != imgward.InstanceRunning && f.State != imgward.InstanceTerminated {
		return nil, errors.E(op, errors.Invalid, errors.Msg("state must be running or terminated"))
	}
	var ins []imgward.Instance
	err := s.store.View(ctx, func(tx imgward.Tx) error {
		var err error
		ins, err = tx.ListInstances(ctx, f)
		return err
	})
	if err != nil {
		return nil, errors.E(op, err)
	}
	return ins, nil
}

// Terminate marks an instance terminated.
func (s *Service) Terminate(ctx context.Context, p imgward.Principal, id imgward.InstanceID) (*imgward.Instance, error) {
	const op = "catalog.Terminate"
	object := "instance/" + string(id)
	var in *imgward.Instance
	err := s.store.Update(ctx, func(tx imgward.Tx) error {
		var err error
		in, err = tx.Instance(ctx, id)
		if err == nil && !p.IsAdmin() && in.ProjectID != p.ProjectID {
			return denied("instance.terminate", object, "instance of another project",
				errors.E(op, errors.NotExist, errors.Msg("no such instance")))
		}
		if errors.Is(errors.NotExist, err) {
			return errors.E(op, errors.NotExist, errors.Msg("no such instance"))
		} else if err != nil {
			return err
		}
		if in.State == imgward.InstanceTerminated {
			return errors.E(op, errors.Conflict, errors.Msg("instance is already terminated"))
		}
		in.State, in.TerminatedAt = imgward.InstanceTerminated, s.stamp()
		if err := tx.UpdateInstance(ctx, in); err != nil {
			return err
		}
		return s.audit(ctx, tx, p, "instance.terminate", object, "")
	})
	if err != nil {
		return nil, s.finish(ctx, p, errors.E(op, err))
	}
	return in, nil
}

// MaxAuditPage bounds one page of the audit log.
const MaxAuditPage = 1000

// Audit lists audit entries after a sequence number (admin only); byLeaf
// lists integrated entries after a leaf instead, in the tree's order, which
// is how a verifier reads the log.
func (s *Service) Audit(ctx context.Context, p imgward.Principal, after int64, limit int, byLeaf bool) ([]imgward.AuditEntry, error) {
	const op = "catalog.Audit"
	if err := s.requireAdmin(ctx, p, op, "audit.read", "audit"); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > MaxAuditPage {
		limit = MaxAuditPage
	}
	var es []imgward.AuditEntry
	err := s.store.View(ctx, func(tx imgward.Tx) error {
		var err error
		if byLeaf {
			es, err = tx.ListAuditLeaves(ctx, after, limit)
		} else {
			es, err = tx.ListAudit(ctx, after, limit)
		}
		return err
	})
	if err != nil {
		return nil, errors.E(op, err)
	}
	return es, nil
}

// quarantineIfFlagged quarantines a new image of a publisher that
// detection flagged (package monitor), so that a flagged publisher cannot
// escape its quarantine by publishing a new image.
func quarantineIfFlagged(ctx context.Context, tx imgward.Tx, owner imgward.ProjectID) error {
	v, err := tx.Verdict(ctx, imgward.VerdictPublisher, string(owner))
	switch {
	case errors.Is(errors.NotExist, err):
		return nil
	case err != nil:
		return err
	case v.State != imgward.VerdictFlagged:
		return nil
	}
	_, err = tx.SetQuarantine(ctx, owner, true)
	return err
}
