package storetest

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"imgward"
	"imgward/errors"
)

// HotRaces races hot-path writes (imgward.UpdateHot) run on every store of
// nodes against one another and against the Updates that change the rules
// they read. The stores share one database and stand for nodes (separate
// connection pools, as separate processes have); one store is a single
// node. The hot writes do at the store what catalog.Launch and
// broker.Release do: read a rule, then write. Each rule-changing Update
// counts, inside its own transaction, what the hot writes committed before
// it; a hot write that read the old rule but committed after the Update
// would show up as one more at the end.
func HotRaces(t *testing.T, nodes []imgward.Store) {
	if len(nodes) == 0 {
		t.Fatal("HotRaces: no stores")
	}
	h := &hotRace{nodes: nodes}
	h.fixture(t)
	t.Run("RevokeRacesLaunch", h.revokeRacesLaunch)
	t.Run("QuarantineRacesLaunch", h.quarantineRacesLaunch)
	t.Run("CancelRacesLaunchAndRelease", h.cancelRacesLaunchAndRelease)
	t.Run("NonceOnEveryNode", h.nonceOnEveryNode)
	t.Run("IngestSameInstance", h.ingestSameInstance)
	t.Run("AuditVerifies", func(t *testing.T) {
		before := len(VerifyAudit(t, nodes[0]))
		AppendConcurrently(t, nodes, 4*len(nodes), 10)
		if got, want := len(VerifyAudit(t, nodes[len(nodes)-1])), before+40*len(nodes); got != want {
			t.Errorf("audit log has %d entries after the races and %d appends, want %d", got, 40*len(nodes), want)
		}
	})
}

// hotRace is the shared fixture of HotRaces: images of their own for each
// race, so that the races do not see one another's rows.
type hotRace struct {
	nodes []imgward.Store
	ids   atomic.Int64 // instance ids
}

// The fixture's projects and images. Image hotImage+i is owned by
// hotOwner+i and shared with hotBuyer, an accepted member; image hotPaid
// carries an offer's product code, and hotBuyer holds hotSub.
const (
	hotOwner = 0x7000 // + race
	hotBuyer = 0x7100
	hotImage = 0x7200 // + race
	hotRaces = 3
	hotPaid  = hotImage + 2
)

var hotOffer = newOffer(hotPaid, projectID(hotOwner+2), "paid")

func hotSub() *imgward.Subscription { return newSub(0x7300, hotOffer, projectID(hotBuyer)) }

func (h *hotRace) fixture(t *testing.T) {
	update(t, h.nodes[0], func(tx imgward.Tx) error {
		for i := range hotRaces {
			img := newImage(hotImage+i, projectID(hotOwner+i), imgward.Shared, at(i))
			if err := tx.CreateImage(ctx(t), img); err != nil {
				return err
			}
			if err := tx.CreateMember(ctx(t), &imgward.Member{ImageID: img.ID, MemberID: projectID(hotBuyer),
				Status: imgward.MemberAccepted, CreatedAt: at(i), UpdatedAt: at(i)}); err != nil {
				return err
			}
		}
		if err := tx.CreateOffer(ctx(t), hotOffer); err != nil {
			return err
		}
		if err := tx.SetProductCode(ctx(t), hotOffer.ImageID, hotOffer.ProductCode); err != nil {
			return err
		}
		return tx.CreateSubscription(ctx(t), hotSub())
	})
}

// errRefused is a launch or release that a rule refused.
var errRefused = errors.E(errors.Permission, errors.Msg("refused"))

// launch is catalog.Launch at the store: the image must not be
// quarantined, the buyer's membership must be accepted and, for the paid
// image, its subscription active; then the instance, its metering and its
// audit entry are written. It pauses between the reads and the writes, to
// widen the window that a missing lock would leave open.
func (h *hotRace) launch(t *testing.T, s imgward.Store, img imgward.ImageID) error {
	id := instanceID(int(0x100000 + h.ids.Add(1)))
	return imgward.UpdateHot(ctx(t), s, func(tx imgward.Tx) error {
		i, err := tx.Image(ctx(t), img)
		if err != nil {
			return err
		}
		m, err := tx.Member(ctx(t), img, projectID(hotBuyer))
		if err != nil {
			return err
		}
		if i.Quarantined || m.Status != imgward.MemberAccepted {
			return errRefused
		}
		var sub *imgward.Subscription
		if img == hotOffer.ImageID {
			if sub, err = tx.ActiveSubscription(ctx(t), hotOffer.ID, projectID(hotBuyer)); errors.Is(errors.NotExist, err) {
				return errRefused
			} else if err != nil {
				return err
			}
		}
		time.Sleep(time.Millisecond)
		in := &imgward.Instance{ID: id, ImageID: img, ProjectID: projectID(hotBuyer), UserID: userID(hotBuyer),
			State: imgward.InstanceRunning, CreatedAt: at(0)}
		if err := tx.CreateInstance(ctx(t), in); err != nil {
			return err
		}
		if sub != nil {
			if err := tx.CreateMeteredInstance(ctx(t), &imgward.MeteredInstance{InstanceID: id,
				SubscriptionID: sub.ID, OfferID: sub.OfferID}); err != nil {
				return err
			}
		}
		return tx.AppendAudit(ctx(t), &imgward.AuditEntry{Actor: "system", Action: "instance.launch",
			Object: "instance/" + string(id), Result: imgward.ResultOK})
	})
}

// race runs hot on every node from several goroutines until cold has run
// and each goroutine has seen a refusal after it (or a minute passed), and
// returns the hot writes that committed and were refused. cold runs once,
// after some hot writes committed.
func (h *hotRace) race(t *testing.T, hot func(s imgward.Store) error, cold func()) (ok, refused int64) {
	var okN, refusedN atomic.Int64
	coldDone := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 4 * len(h.nodes) {
		s := h.nodes[g%len(h.nodes)]
		wg.Go(func() {
			for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
				err := hot(s)
				switch {
				case err == nil:
					okN.Add(1)
				case errors.Is(errors.Permission, err):
					refusedN.Add(1)
					select {
					case <-coldDone:
						return // refused after cold: the rule took
					default:
					}
				default:
					t.Errorf("hot write: %v", err)
					return
				}
			}
			t.Errorf("hot writes still run a minute later")
		})
	}
	for deadline := time.Now().Add(time.Minute); okN.Load() < int64(2*len(h.nodes)) && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	cold()
	close(coldDone)
	wg.Wait()
	return okN.Load(), refusedN.Load()
}

// instances counts the instances of img in tx.
func instances(t *testing.T, tx imgward.Tx, img imgward.ImageID) int {
	ins, err := tx.ListInstances(ctx(t), imgward.InstanceFilter{ImageID: img})
	if err != nil {
		t.Errorf("ListInstances: %v", err)
	}
	return len(ins)
}

// checkAfter checks that img has as many instances as the rule-changing
// Update counted in its own transaction, seen: none committed after it.
func (h *hotRace) checkAfter(t *testing.T, what string, img imgward.ImageID, seen int, ok int64) {
	t.Helper()
	var now int
	view(t, h.nodes[len(h.nodes)-1], func(tx imgward.Tx) error {
		now = instances(t, tx, img)
		return nil
	})
	if now != seen {
		t.Errorf("%s saw %d instances; there are %d: %d launches committed after it", what, seen, now, now-seen)
	}
	if int64(now) != ok {
		t.Errorf("%d launches succeeded, %d instances stored", ok, now)
	}
}

func (h *hotRace) revokeRacesLaunch(t *testing.T) {
	img := imageID(hotImage)
	var seen int
	ok, refused := h.race(t, func(s imgward.Store) error { return h.launch(t, s, img) }, func() {
		update(t, h.nodes[len(h.nodes)-1], func(tx imgward.Tx) error {
			m, err := tx.Member(ctx(t), img, projectID(hotBuyer))
			if err != nil {
				return err
			}
			m.Status, m.UpdatedAt = imgward.MemberRejected, at(100)
			if err := tx.UpdateMember(ctx(t), m); err != nil {
				return err
			}
			seen = instances(t, tx, img)
			return nil
		})
	})
	t.Logf("%d launches, %d refused", ok, refused)
	h.checkAfter(t, "the revocation", img, seen, ok)
}

func (h *hotRace) quarantineRacesLaunch(t *testing.T) {
	img := imageID(hotImage + 1)
	var seen int
	ok, refused := h.race(t, func(s imgward.Store) error { return h.launch(t, s, img) }, func() {
		update(t, h.nodes[len(h.nodes)-1], func(tx imgward.Tx) error {
			if _, err := tx.SetQuarantine(ctx(t), projectID(hotOwner+1), true); err != nil {
				return err
			}
			seen = instances(t, tx, img)
			return nil
		})
	})
	t.Logf("%d launches, %d refused", ok, refused)
	h.checkAfter(t, "the quarantine", img, seen, ok)
}

// release is broker.Release at the store: the document's nonce is spent,
// the subscription must be active, and the release is audited.
func (h *hotRace) release(t *testing.T, s imgward.Store) error {
	nonce := fmt.Sprintf("release-%d", h.ids.Add(1))
	return imgward.UpdateHot(ctx(t), s, func(tx imgward.Tx) error {
		if err := tx.UseNonce(ctx(t), nonce, at(60), at(0)); err != nil {
			return err
		}
		if _, err := tx.ActiveSubscription(ctx(t), hotOffer.ID, projectID(hotBuyer)); errors.Is(errors.NotExist, err) {
			return errRefused
		} else if err != nil {
			return err
		}
		time.Sleep(time.Millisecond)
		return tx.AppendAudit(ctx(t), &imgward.AuditEntry{Actor: "system", Action: "key.release",
			Object: "image/" + string(hotOffer.ImageID), Result: imgward.ResultOK})
	})
}

// releases counts the audited releases in tx.
func releases(t *testing.T, tx imgward.Tx) int {
	es, err := tx.ListAudit(ctx(t), 0, 0)
	if err != nil {
		t.Errorf("ListAudit: %v", err)
	}
	n := 0
	for _, e := range es {
		if e.Action == "key.release" && e.Result == imgward.ResultOK {
			n++
		}
	}
	return n
}

func (h *hotRace) cancelRacesLaunchAndRelease(t *testing.T) {
	img := hotOffer.ImageID
	var seen, seenReleases int
	var relOK, relRefused atomic.Int64
	ok, refused := h.race(t, func(s imgward.Store) error {
		// Launches and releases alternate, so that both race the cancel.
		if h.ids.Load()%2 == 0 {
			err := h.release(t, s)
			if err == nil {
				relOK.Add(1)
			} else if errors.Is(errors.Permission, err) {
				relRefused.Add(1)
			}
			return err
		}
		return h.launch(t, s, img)
	}, func() {
		update(t, h.nodes[len(h.nodes)-1], func(tx imgward.Tx) error {
			sub := hotSub()
			sub.State, sub.CancelledAt = imgward.SubscriptionCancelled, at(100)
			if err := tx.UpdateSubscription(ctx(t), sub); err != nil {
				return err
			}
			seen, seenReleases = instances(t, tx, img), releases(t, tx)
			return nil
		})
	})
	t.Logf("%d launches and releases, %d refused; %d releases, %d refused", ok, refused, relOK.Load(), relRefused.Load())
	h.checkAfter(t, "the cancellation", img, seen, ok-relOK.Load())
	view(t, h.nodes[0], func(tx imgward.Tx) error {
		if n := releases(t, tx); n != seenReleases || int64(n) != relOK.Load() {
			t.Errorf("the cancellation saw %d releases; %d are audited, %d succeeded", seenReleases, n, relOK.Load())
		}
		return nil
	})
}

func (h *hotRace) nonceOnEveryNode(t *testing.T) {
	for round := range 20 {
		nonce := fmt.Sprintf("document-%d", round)
		var wins, losses atomic.Int64
		var wg sync.WaitGroup
		for g := range 3 * len(h.nodes) {
			s := h.nodes[g%len(h.nodes)]
			wg.Go(func() {
				err := imgward.UpdateHot(ctx(t), s, func(tx imgward.Tx) error {
					if err := tx.UseNonce(ctx(t), nonce, at(60), at(0)); err != nil {
						return err
					}
					return tx.AppendAudit(ctx(t), &imgward.AuditEntry{Actor: "system", Action: "key.release",
						Object: nonce, Result: imgward.ResultOK})
				})
				switch {
				case err == nil:
					wins.Add(1)
				case errors.Is(errors.Conflict, err):
					losses.Add(1)
				default:
					t.Errorf("UseNonce: %v", err)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("document %d was released %d times across %d nodes, want once", round, wins.Load(), len(h.nodes))
		}
	}
}

// ingestSameInstance writes snapshots of one instance from every node at
// once. Each write reads back, in its own transaction, the count of the
// instance's snapshots: with the row lock held from the upsert to the
// commit, the counts are 1..n, each once, and the stored snapshot is the
// one of the write that counted n, the one committed last.
func (h *hotRace) ingestSameInstance(t *testing.T) {
	id := instanceID(0x7400)
	update(t, h.nodes[0], func(tx imgward.Tx) error {
		return tx.CreateInstance(ctx(t), &imgward.Instance{ID: id, ImageID: imageID(hotImage + 2),
			ProjectID: projectID(hotBuyer), UserID: userID(hotBuyer), State: imgward.InstanceRunning, CreatedAt: at(0)})
	})
	var mu sync.Mutex
	bodies := map[int64]string{} // count seen → body written
	var wg sync.WaitGroup
	for g := range 4 * len(h.nodes) {
		s := h.nodes[g%len(h.nodes)]
		wg.Go(func() {
			for i := range 10 {
				body := fmt.Sprintf(`{"g":%d,"i":%d}`, g, i)
				var count int64
				err := imgward.UpdateHot(ctx(t), s, func(tx imgward.Tx) error {
					// Another instance too, given before or after this one,
					// so that batches share rows in both orders.
					other := instanceID(0x7401)
					recs := []imgward.SnapshotRecord{
						{InstanceID: other, TakenAt: at(i), ReceivedAt: at(i), Source: "race", Body: []byte(body)},
						{InstanceID: id, TakenAt: at(i), ReceivedAt: at(i), Source: "race", Body: []byte(body)}}
					if g%2 == 1 {
						slices.Reverse(recs)
					}
					if err := tx.PutSnapshots(ctx(t), recs); err != nil {
						return err
					}
					latest, err := tx.LatestSnapshots(ctx(t), "", 0)
					for _, r := range latest {
						if r.InstanceID == id {
							count = r.Count
						}
					}
					return err
				})
				if err != nil {
					t.Errorf("PutSnapshots: %v", err)
					return
				}
				mu.Lock()
				if prev, dup := bodies[count]; dup {
					t.Errorf("two writes both counted %d snapshots (%s and %s): an update was lost", count, prev, body)
				}
				bodies[count] = body
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	n := int64(len(bodies))
	view(t, h.nodes[len(h.nodes)-1], func(tx imgward.Tx) error {
		latest, err := tx.LatestSnapshots(ctx(t), "", 0)
		for _, r := range latest {
			if r.InstanceID != id {
				continue
			}
			if r.Count != n {
				t.Errorf("instance has %d snapshots counted, want %d", r.Count, n)
			}
			if string(r.Body) != bodies[n] {
				t.Errorf("latest snapshot is %s, want %s, of the write committed last", r.Body, bodies[n])
			}
			return err
		}
		t.Errorf("no latest snapshot of %s", id)
		return err
	})
}
