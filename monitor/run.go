package monitor

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"imgward"
	"imgward/detect/pipeline"
	"imgward/errors"
	"imgward/fleet"
	"imgward/snapshot"
)

// Report summarises a detection run.
type Report struct {
	Scored   int `json:"scored"`   // instances scored against a baseline
	Unscored int `json:"unscored"` // running instances not scored
	// UnscoredBy counts the unscored instances by reason (UnscoredNoRole...);
	// UnscoredList names the first MaxUnscoredListed of them.
	UnscoredBy   map[string]int      `json:"unscored_by"`
	UnscoredList []Unscored          `json:"unscored_instances"`
	Images       int                 `json:"images"` // images judged
	Publishers   int                 `json:"publishers"`
	Flagged      []imgward.ProjectID `json:"flagged"` // publishers flagged by this run
}

// scored is one instance's result.
type scored struct {
	rec      imgward.SnapshotRecord
	surprise float64 // capped (pipeline's Surprise)
	uncapped float64 // not capped (Uncapped)
	score    float64
	dev      []deviation
}

// deviation is one parameter of an explanation.
type deviation struct {
	Feature  string  `json:"feature"`
	Value    float64 `json:"value"`
	Baseline float64 `json:"baseline"`
	Z        float64 `json:"z"`
}

const explainTop = 5

// Run scores every running instance that has a snapshot against its image
// role's latest baseline, folds the surprises per image and per publisher
// through pipeline.Fold (the mean), judges them against
// pipeline.Threshold, records verdicts, and responds to
// every newly flagged publisher (admin only; the periodic run passes a
// system principal).
func (s *Service) Run(ctx context.Context, p imgward.Principal) (*Report, error) {
	const op = "monitor.Run"
	if err := s.requireAdmin(ctx, p, op, "detect.run", "detect"); err != nil {
		return nil, err
	}
	s.runMu.Lock()
	defer s.runMu.Unlock()
	scorers, roles, err := s.loadScorers(ctx)
	if err != nil {
		return nil, errors.E(op, err)
	}
	rep := &Report{Flagged: []imgward.ProjectID{}, UnscoredBy: map[string]int{}, UnscoredList: []Unscored{}}
	var results []scored
	surprises := pipeline.NewFold(fleet.Param{})
	running := map[string]bool{}
	err = s.eachLatest(ctx, func(snap *snapshot.Snapshot, rec *imgward.SnapshotRecord) {
		running[string(rec.InstanceID)] = true
		role := roles[rec.ImageID]
		sc := scorers[role]
		if why := whyUnscored(rec, role, sc != nil); why != "" {
			rep.unscored(Unscored{rec.InstanceID, rec.ImageID, role, why})
			return
		}
		x := sc.Vector(snap)
		r := scored{rec: *rec, score: sc.Score(x)}
		r.rec.Body = nil
		r.surprise, r.uncapped = sc.Surprise(r.score), sc.Uncapped(r.score)
		ex := sc.Explain(x)
		for _, d := range ex[:min(explainTop, len(ex))] {
			r.dev = append(r.dev, deviation{d.Feature, d.Value, d.Baseline, d.Score})
		}
		results = append(results, r)
		surprises.PutUncapped(fleet.Member{Instance: string(rec.InstanceID), Image: string(rec.ImageID),
			Publisher: string(rec.Publisher)}, r.surprise, r.uncapped)
	})
	if err != nil {
		return nil, errors.E(op, err)
	}
	if err := s.silent(ctx, running, roles, rep); err != nil {
		return nil, errors.E(op, err)
	}
	// The unified state forgets instances terminated since they reported.
	for _, id := range s.fleet.InstanceIDs() {
		if !running[id] {
			s.fleet.Remove(id)
		}
	}
	rep.Scored = len(results)
	verdicts := s.judge(results, surprises, rep)
	flagged, err := s.record(ctx, p, verdicts)
	if err != nil {
		return nil, errors.E(op, err)
	}
	rep.Flagged = flagged
	return rep, nil
}

// loadScorers refits the latest baseline of every role.
func (s *Service) loadScorers(ctx context.Context) (map[string]*pipeline.Scorer, map[imgward.ImageID]string, error) {
	var bs []imgward.Baseline
	var roles map[imgward.ImageID]string
	err := s.store.View(ctx, func(tx imgward.Tx) error {
		var err error
		if bs, err = tx.LatestBaselines(ctx); err != nil {
			return err
		}
		roles, err = tx.ImageRoles(ctx)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	scorers := map[string]*pipeline.Scorer{}
	for _, b := range bs {
		// Fitting is deterministic: a version once fitted is kept.
		key := b.Role + "\x00" + strconv.Itoa(b.Version)
		if sc := s.fitted[key]; sc != nil {
			scorers[b.Role] = sc
			continue
		}
		m, err := pipeline.Load(b.Model)
		if err != nil {
			return nil, nil, err
		}
		if scorers[b.Role], err = m.Fit(); err != nil {
			return nil, nil, err
		}
		s.fitted[key] = scorers[b.Role]
	}
	// Forget the versions no longer in use.
	for key, sc := range s.fitted {
		if role, _, _ := strings.Cut(key, "\x00"); scorers[role] != sc {
			delete(s.fitted, key)
		}
	}
	return scorers, roles, nil
}

// judge turns the scores into verdicts: every scored instance, and every
// image and publisher with at least MinInstances scored instances.
func (s *Service) judge(results []scored, surprises *pipeline.Fold, rep *Report) []imgward.Verdict {
	now := s.stamp()
	var vs []imgward.Verdict
	explain := map[string][]deviation{}
	for _, r := range results {
		st := imgward.VerdictOK
		if r.surprise >= s.cfg.InstanceThreshold {
			st = imgward.VerdictFlagged
		}
		vs = append(vs, imgward.Verdict{Kind: imgward.VerdictInstance, Subject: string(r.rec.InstanceID),
			Score: r.surprise, Uncapped: r.uncapped, Threshold: s.cfg.InstanceThreshold, Instances: 1,
			Explanation: mustJSON(r.dev), State: st, UpdatedAt: now})
		for _, k := range []string{"image/" + string(r.rec.ImageID), "publisher/" + string(r.rec.Publisher)} {
			explain[k] = append(explain[k], r.dev...)
		}
	}
	judge := func(kind imgward.VerdictKind, groups []pipeline.Group) {
		for _, g := range groups {
			if g.Instances < s.cfg.MinInstances {
				continue
			}
			thr, flagged := g.Judge(s.cfg.Alpha)
			v := imgward.Verdict{Kind: kind, Subject: g.ID, Score: g.Surprise, Uncapped: g.Uncapped, Threshold: thr, Instances: g.Instances,
				Explanation: mustJSON(summarise(explain[string(kind)+"/"+g.ID])), State: imgward.VerdictOK, UpdatedAt: now}
			if flagged {
				v.State = imgward.VerdictFlagged
			}
			vs = append(vs, v)
		}
	}
	judge(imgward.VerdictImage, surprises.Images())
	judge(imgward.VerdictPublisher, surprises.Publishers())
	for _, v := range vs {
		switch v.Kind {
		case imgward.VerdictImage:
			rep.Images++
		case imgward.VerdictPublisher:
			rep.Publishers++
		}
	}
	return vs
}

// summarise folds the instances' deviations into the features that
// deviate most on average over the group.
func summarise(devs []deviation) []deviation {
	type acc struct {
		n              int
		v, baseline, z float64
	}
	by := map[string]*acc{}
	for _, d := range devs {
		a := by[d.Feature]
		if a == nil {
			a = &acc{}
			by[d.Feature] = a
		}
		a.n++
		a.v += d.Value
		a.baseline = d.Baseline
		a.z += d.Z
	}
	out := []deviation{}
	for f, a := range by {
		out = append(out, deviation{f, a.v / float64(a.n), a.baseline, a.z / float64(a.n)})
	}
	slices.SortFunc(out, func(a, b deviation) int {
		if a.Z != b.Z {
			if a.Z > b.Z {
				return -1
			}
			return 1
		}
		if a.Feature < b.Feature {
			return -1
		}
		return 1
	})
	return out[:min(explainTop, len(out))]
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }
