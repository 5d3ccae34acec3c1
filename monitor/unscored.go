package monitor

import (
	"context"
	"slices"
	"strings"

	"imgward"
)

// The reasons a detection run leaves a running instance unscored, as
// Report.UnscoredBy counts them.
const (
	UnscoredNoSnapshot = "no_snapshot"   // the instance has sent no snapshot
	UnscoredNoRole     = "no_role"       // its image has no role
	UnscoredNoBaseline = "no_baseline"   // its image's role has no baseline yet
	UnscoredNoImage    = "image_deleted" // its image is gone: no publisher to judge
)

// MaxUnscoredListed bounds Report.UnscoredList: the counts cover every
// instance, the list only enough of them to act on, so that a run's answer
// stays small in a cloud of a million instances.
const MaxUnscoredListed = 1000

// Unscored is a running instance that a run did not score, and why.
type Unscored struct {
	Instance imgward.InstanceID `json:"instance_id"`
	Image    imgward.ImageID    `json:"image_id"`
	Role     string             `json:"role"` // "" when the image has none
	Reason   string             `json:"reason"`
}

// unscored counts an instance left unscored, and lists it while the list
// has room.
func (r *Report) unscored(u Unscored) {
	r.Unscored++
	r.UnscoredBy[u.Reason]++
	if len(r.UnscoredList) < MaxUnscoredListed {
		r.UnscoredList = append(r.UnscoredList, u)
	}
}

// whyUnscored returns why an instance with a snapshot cannot be scored, or
// "" when it can: its image is gone, has no role, or its role no baseline.
func whyUnscored(rec *imgward.SnapshotRecord, role string, hasBaseline bool) string {
	switch {
	case rec.Publisher == "":
		return UnscoredNoImage
	case role == "":
		return UnscoredNoRole
	case !hasBaseline:
		return UnscoredNoBaseline
	}
	return ""
}

// silent counts the running instances that have sent no snapshot.
func (s *Service) silent(ctx context.Context, reported map[string]bool, roles map[imgward.ImageID]string, rep *Report) error {
	var ins []imgward.Instance
	err := s.store.View(ctx, func(tx imgward.Tx) error {
		var err error
		ins, err = tx.ListInstances(ctx, imgward.InstanceFilter{State: imgward.InstanceRunning})
		return err
	})
	if err != nil {
		return err
	}
	// ListInstances lists the newest first; the report lists by id, as
	// the instances with snapshots are.
	slices.SortFunc(ins, func(a, b imgward.Instance) int { return strings.Compare(string(a.ID), string(b.ID)) })
	for _, in := range ins {
		if !reported[string(in.ID)] {
			rep.unscored(Unscored{in.ID, in.ImageID, roles[in.ImageID], UnscoredNoSnapshot})
		}
	}
	return nil
}
