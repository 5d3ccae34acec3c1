package monitor

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"hash"
	"io"
	"slices"
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
// Result is returned, and replayed is true; but a body other than the
// first (by SHA-256) under the same key is refused with kind Mismatch, as
// Stripe's API and the IETF's Idempotency-Key draft do, rather than
// dropped in silence.
func (s *Service) Ingest(ctx context.Context, p imgward.Principal, key string, body io.Reader) (res Result, replayed bool, err error) {
	const op = "monitor.Ingest"
	if p.Role != imgward.RoleCollector && !p.IsAdmin() {
		return res, false, s.deny(ctx, p, "snapshot.ingest", "snapshots", "collector or admin role required",
			errors.E(op, errors.Permission, errors.Msg("this needs the collector or admin role")))
	}
	if !validKey(key) {
		return res, false, errors.E(op, errors.Invalid, errors.Msg("Idempotency-Key must be 1-128 printable ASCII characters"))
	}
	var sum hash.Hash // of the body, when there is a key
	if key != "" {
		rec, err := s.idempotent(ctx, p, key, func(f func(imgward.Tx) error) error { return s.store.View(ctx, f) })
		if err != nil {
			return res, false, errors.E(op, err)
		}
		if rec != nil {
			// A retry: its body is only read to be compared, not parsed.
			h := sha256.New()
			if _, err := io.Copy(h, body); err != nil {
				return res, false, errors.E(op, errors.Invalid, errors.Msg("could not read the request body"), err)
			}
			res, err = answer(rec, h.Sum(nil))
			return res, err == nil, errors.Wrap(op, err)
		}
		// Hashed as the parser reads it: no second pass over the batch.
		sum = sha256.New()
		body = io.TeeReader(body, sum)
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
		refs, err = s.checkInstances(ctx, tx, p, lines)
		return err
	})
	var foreign *foreignHost
	if errors.As(err, &foreign) {
		return res, false, s.deny(ctx, p, "snapshot.ingest", "snapshots", foreign.reason,
			errors.E(op, errors.Permission, errors.Msg(foreign.msg)))
	}
	if err != nil {
		return res, false, errors.E(op, err)
	}
	var bodyHash []byte
	if sum != nil {
		bodyHash = sum.Sum(nil)
	}
	received := s.stamp()
	var seq uint64
	// A hot-path write (imgward.HotUpdater): batches of this node and of
	// others commit side by side. What keeps them apart is in the store:
	// the row locks of the snapshots' upsert, and the primary key of
	// idempotency keys.
	write := func(tx imgward.Tx) error {
		if key != "" {
			// Again in the write: a retry may have raced this one.
			rec, err := s.idempotent(ctx, p, key, func(f func(imgward.Tx) error) error { return f(tx) })
			if err != nil {
				return err
			}
			if rec != nil {
				res, err = answer(rec, bodyHash)
				replayed = err == nil
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
		// Numbered once PutSnapshots holds its instances' rows, so that a
		// batch of this node that shares an instance, which waits for those
		// rows until this one commits, gets a higher number: the unified
		// state orders the batches as the store does (a retried attempt
		// takes a new number).
		seq = s.received.Add(1)
		res = Result{Accepted: len(lines)}
		if key != "" {
			b, _ := json.Marshal(res)
			rec := imgward.IdempotentRecord{BodyHash: bodyHash, Result: b}
			if err := tx.PutIdempotentResult(ctx, p.UserID, key, rec, received, received.Add(-idempotencyTTL)); err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, p, "snapshot.ingest", "snapshots", strconv.Itoa(len(lines))+" accepted")
	}
	err = imgward.UpdateHot(ctx, s.store, write)
	if errors.Is(errors.Exist, err) && key != "" {
		// Another node (or request) stored a result under the key after
		// this write looked: run it again, to answer with that result.
		err = imgward.UpdateHot(ctx, s.store, write)
	}
	if err != nil {
		return res, false, errors.E(op, err)
	}
	if replayed {
		return res, true, nil
	}
	s.trackBatch(lines, refs, seq)
	return res, false, nil
}

// idempotent returns the record of (caller, key), or nil if there is
// none, read in run.
func (s *Service) idempotent(ctx context.Context, p imgward.Principal, key string, run func(func(imgward.Tx) error) error) (*imgward.IdempotentRecord, error) {
	var rec *imgward.IdempotentRecord
	err := run(func(tx imgward.Tx) error {
		var err error
		rec, err = tx.IdempotentResult(ctx, p.UserID, key)
		if errors.Is(errors.NotExist, err) {
			rec, err = nil, nil
		}
		return err
	})
	return rec, err
}

// errKeyReused refuses an Idempotency-Key sent again with another body.
var errKeyReused = errors.E(errors.Mismatch, errors.Msg("Idempotency-Key was already used with a different body; "+
	"a retry must repeat the first request exactly: send a new key with a new batch"))

// answer is the reply to a retry under a key with record rec, whose body
// hashes to sum: the stored result, or errKeyReused if the body differs.
// A record kept before bodies were hashed has no hash and is replayed.
func answer(rec *imgward.IdempotentRecord, sum []byte) (Result, error) {
	var res Result
	if len(rec.BodyHash) > 0 && !bytes.Equal(rec.BodyHash, sum) {
		return res, errKeyReused
	}
	err := json.Unmarshal(rec.Result, &res)
	return res, err
}

// checkInstances fails the batch at the first line whose instance is
// unknown, terminated, or, for a collector, not on one of its hosts, and
// returns the instances of the batch. The host rides on the instance
// lookup, so binding collectors to hosts costs ingest no query.
func (s *Service) checkInstances(ctx context.Context, tx imgward.Tx, p imgward.Principal, lines []snapshot.Line) (map[imgward.InstanceID]imgward.InstanceRef, error) {
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
	// An admin may report any instance; a collector only its hosts' ones.
	bound := p.Role == imgward.RoleCollector
	if bound && len(p.Hosts) == 0 {
		return nil, &foreignHost{reason: "collector bound to no host",
			msg: "this collector is bound to no host: create it with --hosts (the hosts whose instances it reports)"}
	}
	onHost := hostSet(p.Hosts)
	for _, l := range lines {
		r, ok := refs[l.Snapshot.InstanceID]
		switch {
		case !ok:
			return nil, errors.E(op, errors.Invalid, errors.Msg("line "+strconv.Itoa(l.N)+": unknown instance "+string(l.Snapshot.InstanceID)))
		case bound && !onHost(r.Host):
			host := "no recorded host"
			if r.Host != "" {
				host = "host " + r.Host
			}
			return nil, &foreignHost{reason: "instance " + string(r.ID) + " is on " + host + ", not a host of the collector",
				msg: "line " + strconv.Itoa(l.N) + ": instance " + string(r.ID) + " is not on a host of this collector"}
		case r.State != imgward.InstanceRunning:
			return nil, errors.E(op, errors.Invalid, errors.Msg("line "+strconv.Itoa(l.N)+": instance "+string(r.ID)+" is terminated"))
		}
	}
	return refs, nil
}

// foreignHost refuses a collector's batch that holds an instance outside
// its hosts: reason goes to the audit log, msg to the collector.
type foreignHost struct{ reason, msg string }

func (f *foreignHost) Error() string { return f.reason }

// hostSet returns whether a host is one of hosts: by a scan for the few
// hosts of most collectors, by a map for many. An instance with no
// recorded host is on none: nobody can say which collector sees it.
func hostSet(hosts []string) func(string) bool {
	if len(hosts) <= 8 {
		return func(h string) bool { return h != "" && slices.Contains(hosts, h) }
	}
	set := make(map[string]bool, len(hosts))
	for _, h := range hosts {
		set[h] = h != ""
	}
	return func(h string) bool { return set[h] }
}

// trackBatch folds the last snapshot of each instance of a committed
// batch into the unified state: the last received, as the store keeps it,
// whatever its taken_at says.
func (s *Service) trackBatch(lines []snapshot.Line, refs map[imgward.InstanceID]imgward.InstanceRef, seq uint64) {
	if len(refs) == len(lines) {
		// One line per instance, as collectors send: each is the last,
		// and going in order reads the snapshots in the order they were
		// allocated, which the cache prefers to a map's random order.
		for _, l := range lines {
			r := refs[l.Snapshot.InstanceID]
			s.track(l.Snapshot, r.ImageID, r.Publisher, seq)
		}
		return
	}
	last := make(map[imgward.InstanceID]*snapshot.Snapshot, len(refs))
	for _, l := range lines {
		last[l.Snapshot.InstanceID] = l.Snapshot
	}
	for id, snap := range last {
		r := refs[id]
		s.track(snap, r.ImageID, r.Publisher, seq)
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
