package monitor

import (
	"context"
	"strconv"

	"imgward"
	"imgward/catalog"
	"imgward/errors"
)

// record stores the verdicts of a run and responds to every publisher it
// flags anew, all in one transaction, and returns those publishers. A
// publisher an admin cleared stays cleared while its fleet behaves as when
// it was cleared (see publisherVerdict). A flagged publisher stays
// flagged, and quarantined, until an admin clears it, whatever later runs
// find.
func (s *Service) record(ctx context.Context, p imgward.Principal, vs []imgward.Verdict) ([]imgward.ProjectID, error) {
	flagged := []imgward.ProjectID{}
	var events []imgward.Event
	err := s.store.Update(ctx, func(tx imgward.Tx) error {
		flagged, events = flagged[:0], events[:0]
		for i := range vs {
			v := &vs[i]
			if v.Kind == imgward.VerdictPublisher {
				prev, err := tx.Verdict(ctx, v.Kind, v.Subject)
				if err != nil && !errors.Is(errors.NotExist, err) {
					return err
				}
				fresh, err := s.publisherVerdict(prev, v)
				if err != nil {
					return err
				}
				if fresh {
					why := ""
					if prev != nil && prev.State == imgward.VerdictCleared {
						why = "; flagged again after clearing: uncapped " + fmtScore(v.Uncapped) + " > " +
							fmtScore(reflagBar(clearedAt(prev)))
					}
					es, err := s.respond(ctx, tx, p, v, why)
					if err != nil {
						return err
					}
					flagged, events = append(flagged, imgward.ProjectID(v.Subject)), append(events, es...)
				}
			}
			if err := tx.PutVerdict(ctx, v); err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, p, "detect.run", "detect", strconv.Itoa(len(vs))+" verdicts, "+strconv.Itoa(len(flagged))+" publishers flagged")
	})
	if err != nil {
		return nil, err
	}
	s.notify(events)
	return flagged, nil
}

// publisherVerdict adjusts v by the previous verdict and reports whether v
// newly flags the publisher.
//
// A cleared publisher is flagged again when its fleet turns worse than it
// was when cleared: its score is over the threshold, and its uncapped
// score (Verdict.Uncapped, the mean surprise without the per-instance
// cap) exceeds the uncapped score it was cleared at (ClearedScore) by the
// margin of reflagBar. The capped score cannot serve: cleared at the cap,
// a publisher could never exceed it again; the uncapped one still grows as
// more instances turn anomalous or their anomaly grows stronger.
func (s *Service) publisherVerdict(prev, v *imgward.Verdict) (bool, error) {
	if prev == nil {
		return v.State == imgward.VerdictFlagged, nil
	}
	switch prev.State {
	case imgward.VerdictFlagged:
		v.State = imgward.VerdictFlagged
		return false, nil
	case imgward.VerdictCleared:
		at := clearedAt(prev)
		if v.State == imgward.VerdictFlagged && v.Uncapped > reflagBar(at) {
			return true, nil
		}
		v.State, v.ClearedBy, v.ClearedScore = imgward.VerdictCleared, prev.ClearedBy, at
		return false, nil
	}
	return v.State == imgward.VerdictFlagged, nil
}

// clearedAt returns the uncapped score a cleared verdict was cleared at.
func clearedAt(prev *imgward.Verdict) float64 {
	if prev.ClearedScore == 0 {
		// Cleared before uncapped scores were kept: the threshold was
		// raised to the score it was cleared at.
		return prev.Threshold
	}
	return prev.ClearedScore
}

// Margins of reflagBar: a cleared fleet must be a fifth more surprising on
// average, and by at least one unit (a benign instance's mean surprise),
// so that the ordinary drift of a fleet that behaves the same does not
// flag it again.
const (
	reflagRelative = 1.2
	reflagAbsolute = 1.0
)

// reflagBar is the uncapped score over which a publisher cleared at
// uncapped score at is flagged again.
func reflagBar(at float64) float64 { return max(at*reflagRelative, at+reflagAbsolute) }

func fmtScore(x float64) string { return strconv.FormatFloat(x, 'f', 3, 64) }

// respond quarantines a flagged publisher's images and tells every project
// that runs one of them, within tx; it returns the events to send. why, if
// any, ends the reason of the publisher.flag audit entry.
func (s *Service) respond(ctx context.Context, tx imgward.Tx, p imgward.Principal, v *imgward.Verdict, why string) ([]imgward.Event, error) {
	pub := imgward.ProjectID(v.Subject)
	images, err := tx.SetQuarantine(ctx, pub, true)
	if err != nil {
		return nil, err
	}
	score := fmtScore(v.Score) + " > " + fmtScore(v.Threshold)
	if err := s.audit(ctx, tx, p, "publisher.flag", "publisher/"+string(pub), "mean surprise "+score+why); err != nil {
		return nil, err
	}
	for _, id := range images {
		if err := s.audit(ctx, tx, p, "image.quarantine", "image/"+string(id), "publisher flagged"); err != nil {
			return nil, err
		}
	}
	return s.tellProjects(ctx, tx, pub, "publisher.flagged", images, map[string]any{
		"publisher": pub, "score": v.Score, "threshold": v.Threshold,
		"explanation": rawJSON(v.Explanation)})
}

// tellProjects appends an event for every project that runs an instance
// of pub's images or subscribes to one of its offers, naming its instances and, of images, those the project
// may see (see visibleTo): an event must not tell a project of another's
// private or shared images.
func (s *Service) tellProjects(ctx context.Context, tx imgward.Tx, pub imgward.ProjectID, kind string, images []imgward.ImageID, payload map[string]any) ([]imgward.Event, error) {
	ins, err := tx.ListInstances(ctx, imgward.InstanceFilter{Publisher: pub, State: imgward.InstanceRunning})
	if err != nil {
		return nil, err
	}
	byProject := map[imgward.ProjectID][]imgward.Instance{}
	var order []imgward.ProjectID
	for _, in := range ins {
		if byProject[in.ProjectID] == nil {
			order = append(order, in.ProjectID)
		}
		byProject[in.ProjectID] = append(byProject[in.ProjectID], in)
	}
	// A seller's buyers are told too, running or not: they pay for its
	// images, and its offers are suspended (package catalog, offers).
	subs, err := tx.ListSubscriptions(ctx, imgward.SubscriptionFilter{Seller: pub, State: imgward.SubscriptionActive})
	if err != nil {
		return nil, err
	}
	for _, sub := range subs {
		if _, ok := byProject[sub.ProjectID]; !ok {
			byProject[sub.ProjectID] = []imgward.Instance{}
			order = append(order, sub.ProjectID)
		}
	}
	imgs, err := loadImages(ctx, tx, images)
	if err != nil {
		return nil, err
	}
	var events []imgward.Event
	for _, proj := range order {
		ids := make([]imgward.InstanceID, len(byProject[proj]))
		for i, in := range byProject[proj] {
			ids[i] = in.ID
		}
		seen, err := visibleTo(ctx, tx, proj, imgs, byProject[proj])
		if err != nil {
			return nil, err
		}
		pl := map[string]any{"instances": ids, "images": seen}
		for k, v := range payload {
			pl[k] = v
		}
		e := imgward.Event{ProjectID: proj, Kind: kind, Payload: mustJSON(pl), CreatedAt: s.stamp()}
		if err := tx.AppendEvent(ctx, &e); err != nil {
			return nil, err
		}
		events = append(events, e)
	}
	return events, nil
}

// loadImages reads the images of ids that still exist, in order.
func loadImages(ctx context.Context, tx imgward.Tx, ids []imgward.ImageID) ([]*imgward.Image, error) {
	imgs := make([]*imgward.Image, 0, len(ids))
	for _, id := range ids {
		img, err := tx.Image(ctx, id)
		if errors.Is(errors.NotExist, err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		imgs = append(imgs, img)
	}
	return imgs, nil
}

// visibleTo returns the images of imgs that project may see, by the
// catalog's rule (its own, public and community ones, shared ones it is a
// member of), and those it runs an instance of (ins are its instances):
// it launched them, so it knows them, even if they were made private
// since.
func visibleTo(ctx context.Context, tx imgward.Tx, project imgward.ProjectID, imgs []*imgward.Image, ins []imgward.Instance) ([]imgward.ImageID, error) {
	runs := make(map[imgward.ImageID]bool, len(ins))
	for _, in := range ins {
		runs[in.ImageID] = true
	}
	seen := []imgward.ImageID{}
	for _, img := range imgs {
		var m *imgward.Member
		if img.Visibility == imgward.Shared && img.Owner != project && !runs[img.ID] {
			var err error
			if m, err = tx.Member(ctx, img.ID, project); errors.Is(errors.NotExist, err) {
				m = nil
			} else if err != nil {
				return nil, err
			}
		}
		if see, _, _ := catalog.MayUse(img, m, project, false); see || runs[img.ID] {
			seen = append(seen, img.ID)
		}
	}
	return seen, nil
}

// notify hands committed events to the webhook, if one is configured.
func (s *Service) notify(events []imgward.Event) {
	if s.hook == nil {
		return
	}
	for _, e := range events {
		s.hook.send(e)
	}
}

// Clear clears a flagged publisher's verdict and lifts the quarantine of
// its images (admin only). The verdict keeps the uncapped score it was
// cleared at (ClearedScore), so that later runs flag it again only when its
// fleet turns worse (see publisherVerdict), not for the same behaviour.
func (s *Service) Clear(ctx context.Context, p imgward.Principal, id imgward.ProjectID) (*imgward.Verdict, error) {
	const op = "monitor.Clear"
	object := "publisher/" + string(id)
	if err := s.requireAdmin(ctx, p, op, "publisher.clear", object); err != nil {
		return nil, err
	}
	var v *imgward.Verdict
	var events []imgward.Event
	err := s.store.Update(ctx, func(tx imgward.Tx) error {
		var err error
		v, err = tx.Verdict(ctx, imgward.VerdictPublisher, string(id))
		if errors.Is(errors.NotExist, err) || err == nil && v.State != imgward.VerdictFlagged {
			return errors.E(op, errors.Conflict, errors.Msg("the publisher is not flagged"))
		} else if err != nil {
			return err
		}
		v.State, v.ClearedBy, v.UpdatedAt = imgward.VerdictCleared, p.UserID, s.stamp()
		v.ClearedScore = max(v.Uncapped, v.Score) // Uncapped is 0 in a verdict of an older run
		if err := tx.PutVerdict(ctx, v); err != nil {
			return err
		}
		images, err := tx.SetQuarantine(ctx, id, false)
		if err != nil {
			return err
		}
		if err := s.audit(ctx, tx, p, "publisher.clear", object, "quarantine lifted"); err != nil {
			return err
		}
		for _, img := range images {
			if err := s.audit(ctx, tx, p, "image.release", "image/"+string(img), "publisher cleared"); err != nil {
				return err
			}
		}
		events, err = s.tellProjects(ctx, tx, id, "publisher.cleared", images, map[string]any{"publisher": id})
		return err
	})
	if err != nil {
		return nil, errors.E(op, err)
	}
	s.notify(events)
	return v, nil
}

// Fleet lists every running instance of every image of a publisher, with
// the publisher's verdict if it has one (admin only).
func (s *Service) Fleet(ctx context.Context, p imgward.Principal, id imgward.ProjectID) ([]imgward.Instance, *imgward.Verdict, error) {
	const op = "monitor.Fleet"
	if err := s.requireAdmin(ctx, p, op, "publisher.fleet", "publisher/"+string(id)); err != nil {
		return nil, nil, err
	}
	var ins []imgward.Instance
	var v *imgward.Verdict
	err := s.store.View(ctx, func(tx imgward.Tx) error {
		var err error
		if ins, err = tx.ListInstances(ctx, imgward.InstanceFilter{Publisher: id, State: imgward.InstanceRunning}); err != nil {
			return err
		}
		if v, err = tx.Verdict(ctx, imgward.VerdictPublisher, string(id)); errors.Is(errors.NotExist, err) {
			v, err = nil, nil
		}
		return err
	})
	if err != nil {
		return nil, nil, errors.E(op, err)
	}
	return ins, v, nil
}

// Risk ranks the judged publishers, highest score first (admin only).
func (s *Service) Risk(ctx context.Context, p imgward.Principal) ([]imgward.Verdict, error) {
	const op = "monitor.Risk"
	if err := s.requireAdmin(ctx, p, op, "publisher.risk", "publishers"); err != nil {
		return nil, err
	}
	var vs []imgward.Verdict
	err := s.store.View(ctx, func(tx imgward.Tx) error {
		var err error
		vs, err = tx.ListVerdicts(ctx, imgward.VerdictPublisher)
		return err
	})
	if err != nil {
		return nil, errors.E(op, err)
	}
	return vs, nil
}

// rawJSON lets stored JSON be embedded in a payload as it is.
type rawJSON []byte

func (r rawJSON) MarshalJSON() ([]byte, error) {
	if len(r) == 0 {
		return []byte("null"), nil
	}
	return r, nil
}
