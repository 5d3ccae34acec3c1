package monitor

import (
	"context"
	"encoding/json"
	"io"
	"strconv"

	"imgward"
	"imgward/errors"
	"imgward/snapshot"
)

// Result is the answer to a batch of snapshots.
type Result struct {
	Accepted int `json:"accepted"`
}

// Ingest stores a batch of v1 snapshots (NDJSON) for a collector or an
// admin: all or nothing, and only once it has committed does Ingest return,
// so that an acknowledged batch survives a crash. A bad line fails the
// whole batch with kind Invalid and a message naming the line. With a key,
// a batch already stored under (caller, key) is not stored again: its first
// Result is returned, and replayed is true.
func (s *Service) Ingest(ctx context.Context, p imgward.Principal, key string, body io.Reader) (res Result, replayed bool, err error) {
	const op = "monitor.Ingest"
	if p.Role != imgward.RoleCollector && !p.IsAdmin() {
		return res, false, s.deny(ctx, p, "snapshot.ingest", "snapshots", "collector or admin role required",
			errors.E(op, errors.Permission, errors.Msg("this needs the collector or admin role")))
	}
	if !validKey(key) {
		return res, false, errors.E(op, errors.Invalid, errors.Msg("Idempotency-Key must be 1-128 printable ASCII characters"))
	}
	if key != "" {
		if res, ok, err := s.replay(ctx, p, key, func(f func(imgward.Tx) error) error { return s.store.View(ctx, f) }); ok || err != nil {
			return res, ok, err
		}
	}
	lines, err := snapshot.ParseBatch(body, s.now())
	if err != nil {
		return res, false, errors.E(op, err)
	}
	// The instances are checked in a read transaction, which runs beside
	// other batches' writes, rather than under the write lock: the writer
	// is ingest's bottleneck. An instance terminated between the check and
	// the write may so get one last snapshot, taken while it ran.
	var refs map[imgward.InstanceID]imgward.InstanceRef
	err = s.store.View(ctx, func(tx imgward.Tx) error {
		var err error
		refs, err = s.checkInstances(ctx, tx, lines)
		return err
	})
	if err != nil {
		return res, false, errors.E(op, err)
	}
	received := s.stamp()
	err = s.store.Update(ctx, func(tx imgward.Tx) error {
		if key != "" {
			// Again under the write lock: a retry may have raced this one.
			if r, ok, err := s.replay(ctx, p, key, func(f func(imgward.Tx) error) error { return f(tx) }); ok || err != nil {
				res, replayed = r, ok
				return err
			}
		}
		recs := make([]imgward.SnapshotRecord, len(lines))
		for i, l := range lines {
			recs[i] = imgward.SnapshotRecord{InstanceID: l.Snapshot.InstanceID, TakenAt: l.Snapshot.TakenAt,
				ReceivedAt: received, Source: l.Snapshot.Source, Body: l.Raw}
		}
		if err := tx.PutSnapshots(ctx, recs); err != nil {
			return err
		}
		res = Result{Accepted: len(lines)}
		if key != "" {
			b, _ := json.Marshal(res)
			if err := tx.PutIdempotentResult(ctx, p.UserID, key, b, received, received.Add(-idempotencyTTL)); err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, p, "snapshot.ingest", "snapshots", strconv.Itoa(len(lines))+" accepted")
	})
	if err != nil {
		return res, false, errors.E(op, err)
	}
	if replayed {
		return res, true, nil
	}
	s.trackBatch(lines, refs)
	return res, false, nil
}

// replay returns the stored result of (caller, key), if any, read in run.
func (s *Service) replay(ctx context.Context, p imgward.Principal, key string, run func(func(imgward.Tx) error) error) (Result, bool, error) {
	var res Result
	var found bool
	err := run(func(tx imgward.Tx) error {
		b, err := tx.IdempotentResult(ctx, p.UserID, key)
		if errors.Is(errors.NotExist, err) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		return json.Unmarshal(b, &res)
	})
	return res, found, err
}

// checkInstances fails the batch at the first line whose instance is
// unknown or terminated, and returns the instances of the batch.
func (s *Service) checkInstances(ctx context.Context, tx imgward.Tx, lines []snapshot.Line) (map[imgward.InstanceID]imgward.InstanceRef, error) {
	const op = "monitor.Ingest"
	ids := make([]imgward.InstanceID, 0, len(lines))
	seen := make(map[imgward.InstanceID]bool, len(lines))
	for _, l := range lines {
		if id := l.Snapshot.InstanceID; !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	list, err := tx.InstanceRefs(ctx, ids)
	if err != nil {
		return nil, err
	}
	refs := make(map[imgward.InstanceID]imgward.InstanceRef, len(list))
	for _, r := range list {
		refs[r.ID] = r
	}
	for _, l := range lines {
		r, ok := refs[l.Snapshot.InstanceID]
		switch {
		case !ok:
			return nil, errors.E(op, errors.Invalid, errors.Msg("line "+strconv.Itoa(l.N)+": unknown instance "+string(l.Snapshot.InstanceID)))
		case r.State != imgward.InstanceRunning:
			return nil, errors.E(op, errors.Invalid, errors.Msg("line "+strconv.Itoa(l.N)+": instance "+string(r.ID)+" is terminated"))
		}
	}
	return refs, nil
}

// trackBatch folds the newest snapshot of each instance of a committed
// batch into the unified state.
func (s *Service) trackBatch(lines []snapshot.Line, refs map[imgward.InstanceID]imgward.InstanceRef) {
	if len(refs) == len(lines) {
		// One line per instance, as collectors send: each is the newest,
		// and going in order reads the snapshots in the order they were
		// allocated, which the cache prefers to a map's random order.
		for _, l := range lines {
			r := refs[l.Snapshot.InstanceID]
			s.track(l.Snapshot, r.ImageID, r.Publisher)
		}
		return
	}
	newest := make(map[imgward.InstanceID]*snapshot.Snapshot, len(refs))
	for _, l := range lines {
		if cur := newest[l.Snapshot.InstanceID]; cur == nil || !l.Snapshot.TakenAt.Before(cur.TakenAt) {
			newest[l.Snapshot.InstanceID] = l.Snapshot
		}
	}
	for id, snap := range newest {
		r := refs[id]
		s.track(snap, r.ImageID, r.Publisher)
	}
}

func validKey(k string) bool {
	if len(k) > snapshot.MaxIdempotency {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return false
		}
	}
	return true
}
