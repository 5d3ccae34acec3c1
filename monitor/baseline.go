package monitor

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"imgward"
	"imgward/detect/pipeline"
	"imgward/errors"
	"imgward/snapshot"
)

// MaxRole bounds the length of an image role.
const MaxRole = 64

// SetTrust marks a publisher trusted, or not (admin only). Baselines learn
// only from trusted publishers' images.
func (s *Service) SetTrust(ctx context.Context, p imgward.Principal, id imgward.ProjectID, trusted bool) error {
	const op = "monitor.SetTrust"
	object := "publisher/" + string(id)
	if err := s.requireAdmin(ctx, p, op, "publisher.trust", object); err != nil {
		return err
	}
	err := s.store.Update(ctx, func(tx imgward.Tx) error {
		if _, err := tx.Project(ctx, id); errors.Is(errors.NotExist, err) {
			return errors.E(op, errors.NotExist, errors.Msg("no such project"))
		} else if err != nil {
			return err
		}
		if err := tx.SetPublisherTrust(ctx, id, trusted, s.stamp()); err != nil {
			return err
		}
		return s.audit(ctx, tx, p, "publisher.trust", object, "trusted="+strconv.FormatBool(trusted))
	})
	return errors.Wrap(op, err)
}

// Trusted lists the trusted publishers (admin only), for the dashboard's
// ranking, which shows which publishers the baselines learn from.
func (s *Service) Trusted(ctx context.Context, p imgward.Principal) ([]imgward.ProjectID, error) {
	const op = "monitor.Trusted"
	if err := s.requireAdmin(ctx, p, op, "publisher.trust.list", "publishers"); err != nil {
		return nil, err
	}
	var ids []imgward.ProjectID
	err := s.store.View(ctx, func(tx imgward.Tx) error {
		var err error
		ids, err = tx.TrustedPublishers(ctx)
		return err
	})
	if err != nil {
		return nil, errors.E(op, err)
	}
	return ids, nil
}

// SetRole sets an image's role (admin only): free-form, at most 64
// printable characters; "" removes it.
func (s *Service) SetRole(ctx context.Context, p imgward.Principal, id imgward.ImageID, role string) error {
	const op = "monitor.SetRole"
	object := "image/" + string(id)
	if err := s.requireAdmin(ctx, p, op, "image.role", object); err != nil {
		return err
	}
	if len(role) > MaxRole || !utf8.ValidString(role) || strings.ContainsFunc(role, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return errors.E(op, errors.Invalid, errors.Msg("role must be at most 64 printable characters"))
	}
	err := s.store.Update(ctx, func(tx imgward.Tx) error {
		if _, err := tx.Image(ctx, id); errors.Is(errors.NotExist, err) {
			return errors.E(op, errors.NotExist, errors.Msg("no such image"))
		} else if err != nil {
			return err
		}
		if err := tx.SetImageRole(ctx, id, role); err != nil {
			return err
		}
		return s.audit(ctx, tx, p, "image.role", object, "role="+role)
	})
	return errors.Wrap(op, err)
}

// BuildResult tells what a baseline build learned and skipped.
type BuildResult struct {
	Built   []imgward.Baseline // without their models
	Skipped map[string]string  // role → why
}

// BuildBaselines learns a new version of the baseline of every role from
// the latest snapshots of running instances of trusted publishers' images
// of that role (admin only). A role with fewer than DefaultMinTrainRows
// such instances is skipped.
func (s *Service) BuildBaselines(ctx context.Context, p imgward.Principal) (*BuildResult, error) {
	const op = "monitor.BuildBaselines"
	if err := s.requireAdmin(ctx, p, op, "baseline.build", "baselines"); err != nil {
		return nil, err
	}
	var trusted []imgward.ProjectID
	var roles map[imgward.ImageID]string
	err := s.store.View(ctx, func(tx imgward.Tx) error {
		var err error
		if trusted, err = tx.TrustedPublishers(ctx); err != nil {
			return err
		}
		roles, err = tx.ImageRoles(ctx)
		return err
	})
	if err != nil {
		return nil, errors.E(op, err)
	}
	isTrusted := map[imgward.ProjectID]bool{}
	for _, t := range trusted {
		isTrusted[t] = true
	}
	byRole := map[string][]*snapshot.Snapshot{}
	untrusted := map[string]int{} // role → instances with snapshots of untrusted publishers
	for _, r := range roles {
		byRole[r] = nil // every role is reported, learned or skipped
	}
	err = s.eachLatest(ctx, func(snap *snapshot.Snapshot, rec *imgward.SnapshotRecord) {
		role, ok := roles[rec.ImageID]
		switch {
		case ok && isTrusted[rec.Publisher]:
			byRole[role] = append(byRole[role], snap)
		case ok:
			untrusted[role]++
		}
	})
	if err != nil {
		return nil, errors.E(op, err)
	}
	res := &BuildResult{Built: []imgward.Baseline{}, Skipped: map[string]string{}}
	var models []imgward.Baseline
	for _, role := range slices.Sorted(maps.Keys(byRole)) {
		snaps := byRole[role]
		if len(snaps) < DefaultMinTrainRows {
			res.Skipped[role] = tooFew(len(snaps), untrusted[role])
			continue
		}
		m := pipeline.Build(pipeline.Config{Detector: s.cfg.Detector, Seed: s.cfg.Seed, MaxRows: s.cfg.MaxTrainRows}, snaps)
		if _, err := m.Fit(); err != nil {
			res.Skipped[role] = "the detector could not fit: " + err.Error()
			continue
		}
		models = append(models, imgward.Baseline{Role: role, Detector: m.Detector, Rows: len(m.Rows),
			CreatedAt: s.stamp(), Model: m.Marshal()})
	}
	err = s.store.Update(ctx, func(tx imgward.Tx) error {
		for i := range models {
			if err := tx.PutBaseline(ctx, &models[i]); err != nil {
				return err
			}
			if err := s.audit(ctx, tx, p, "baseline.build", "baseline/"+models[i].Role,
				"version "+strconv.Itoa(models[i].Version)+", "+strconv.Itoa(models[i].Rows)+" rows"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, errors.E(op, err)
	}
	for _, b := range models {
		b.Model = nil
		res.Built = append(res.Built, b)
	}
	return res, nil
}

// tooFew says why a role with n trusted instances is skipped, and how many
// more instances of the role run untrusted publishers' images: whether
// trusting a publisher would help, or only more instances.
func tooFew(n, untrusted int) string {
	why := strconv.Itoa(n) + " trusted instances with snapshots, need " + strconv.Itoa(DefaultMinTrainRows)
	if untrusted > 0 {
		why += "; " + strconv.Itoa(untrusted) + " more of untrusted publishers"
	}
	return why
}

// Baselines lists every version of every role's baseline (admin only).
func (s *Service) Baselines(ctx context.Context, p imgward.Principal) ([]imgward.Baseline, error) {
	const op = "monitor.Baselines"
	if err := s.requireAdmin(ctx, p, op, "baseline.list", "baselines"); err != nil {
		return nil, err
	}
	var bs []imgward.Baseline
	err := s.store.View(ctx, func(tx imgward.Tx) error {
		var err error
		bs, err = tx.ListBaselines(ctx)
		return err
	})
	if err != nil {
		return nil, errors.E(op, err)
	}
	return bs, nil
}

// eachLatest calls fn with the latest snapshot of every running instance,
// in instance order, a page at a time.
func (s *Service) eachLatest(ctx context.Context, fn func(*snapshot.Snapshot, *imgward.SnapshotRecord)) error {
	const page = 5000
	var after imgward.InstanceID
	for {
		var recs []imgward.SnapshotRecord
		err := s.store.View(ctx, func(tx imgward.Tx) error {
			var err error
			recs, err = tx.LatestSnapshots(ctx, after, page)
			return err
		})
		if err != nil {
			return err
		}
		for i := range recs {
			snap, err := snapshot.Parse(recs[i].Body, recs[i].TakenAt)
			if err != nil {
				s.log.Warn("stored snapshot unreadable", "instance", recs[i].InstanceID, "err", err)
				continue
			}
			fn(snap, &recs[i])
		}
		if len(recs) < page {
			return nil
		}
		after = recs[len(recs)-1].InstanceID
	}
}
