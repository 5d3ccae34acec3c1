package api_test

import (
	"testing"
	"time"

	"imgward"
	"imgward/monitor"
	"imgward/snapshot"
)

// TestFutureSnapshotCannotShadow checks that the latest snapshot of an
// instance is the one received last, not the one dated last: a snapshot
// dated 4 minutes ahead (within the 5 that ingest allows for clock skew)
// does not shadow the genuine one that follows, in the store, in the
// unified state, and in the unified state rebuilt from the store at a
// restart.
func TestFutureSnapshotCannotShadow(t *testing.T) {
	e := newDetectEnv(t, monitor.Config{})
	alice := e.tenant("alice")
	col := e.collector()
	img := e.publicImage(alice, "a")
	id := e.launchN(alice, img, 1)[0]
	now := time.Now().UTC().Truncate(time.Millisecond)
	snap := func(at time.Time, cpu float64) string {
		return marshalLine(&snapshot.Snapshot{InstanceID: imgward.InstanceID(id), TakenAt: at, Source: "sim",
			Numeric: map[string]float64{"cpu.pct": cpu}, Sets: map[string][]string{"procs": {"nginx"}}})
	}
	e.post(col, "", batch(snap(now.Add(4*time.Minute), 95)), 200)
	e.post(col, "", batch(snap(now, 10)), 200)

	check := func(when string) {
		t.Helper()
		var recs []imgward.SnapshotRecord
		e.svc.Store.View(t.Context(), func(tx imgward.Tx) error {
			var err error
			recs, err = tx.LatestSnapshots(t.Context(), "", 0)
			return err
		})
		if len(recs) != 1 {
			t.Fatalf("%s: %d snapshots stored, want 1", when, len(recs))
		}
		if r := recs[0]; !r.TakenAt.Equal(now) || r.Count != 2 {
			t.Errorf("%s: stored the one taken at %v (count %d), want the genuine one taken at %v, count 2", when, r.TakenAt, r.Count, now)
		}
		var st struct {
			Instances int
			Numeric   []struct {
				Name  string
				Value float64
			}
		}
		e.do("GET", "/v1/publishers/"+alice.project+"/state", alice.token, nil, 200, &st)
		if st.Instances != 1 || len(st.Numeric) != 1 || st.Numeric[0].Value != 10 {
			t.Errorf("%s: publisher state %+v, want the genuine cpu.pct 10", when, st)
		}
	}
	check("after ingest")
	e.restart()
	check("after a restart")
}
