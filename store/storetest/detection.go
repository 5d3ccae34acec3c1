package storetest

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"imgward"
	"imgward/errors"
)

// detectionFixture makes images 1 (owner p) and 2 (owner q) and instances
// 1..n of image 1 and n+1..2n of image 2, all running but the last; an odd
// instance runs on host hv-1, an even one on hv-0 but the first, which has
// no recorded host.
func detectionFixture(t *testing.T, s imgward.Store, n int) (p, q imgward.ProjectID) {
	p, q = projectID(1), projectID(2)
	update(t, s, func(tx imgward.Tx) error {
		for i, owner := range []imgward.ProjectID{p, q} {
			if err := tx.CreateImage(ctx(t), newImage(i+1, owner, imgward.Public, at(i))); err != nil {
				return err
			}
		}
		for i := 1; i <= 2*n; i++ {
			in := &imgward.Instance{ID: instanceID(i), ImageID: imageID(1 + (i-1)/n), ProjectID: projectID(3),
				UserID: userID(3), Host: fmt.Sprintf("hv-%d", i%2), State: imgward.InstanceRunning, CreatedAt: at(i)}
			if i == 2 {
				in.Host = ""
			}
			if i == 2*n {
				in.State, in.TerminatedAt = imgward.InstanceTerminated, at(3*n)
			}
			if err := tx.CreateInstance(ctx(t), in); err != nil {
				return err
			}
		}
		return nil
	})
	return p, q
}

func testInstanceRefs(t *testing.T, s imgward.Store) {
	const n = 150 // more than one chunk
	p, q := detectionFixture(t, s, n)
	var ids []imgward.InstanceID
	for i := 1; i <= 2*n+5; i++ { // 5 unknown
		ids = append(ids, instanceID(i))
	}
	view(t, s, func(tx imgward.Tx) error {
		refs, err := tx.InstanceRefs(ctx(t), ids)
		if err != nil {
			return err
		}
		if len(refs) != 2*n {
			t.Fatalf("InstanceRefs: %d refs, want %d", len(refs), 2*n)
		}
		slices.SortFunc(refs, func(a, b imgward.InstanceRef) int { return strings.Compare(string(a.ID), string(b.ID)) })
		want := imgward.InstanceRef{ID: instanceID(2 * n), ImageID: imageID(2), ProjectID: projectID(3),
			Publisher: q, State: imgward.InstanceTerminated, Host: "hv-0"}
		if diff := cmp.Diff(want, refs[2*n-1]); diff != "" {
			t.Errorf("last ref (-want +got):\n%s", diff)
		}
		if refs[0].Publisher != p || refs[0].State != imgward.InstanceRunning || refs[0].Host != "hv-1" || refs[1].Host != "" {
			t.Errorf("first refs = %+v, %+v", refs[0], refs[1])
		}
		return nil
	})
}

func testSnapshots(t *testing.T, s imgward.Store) {
	p, q := detectionFixture(t, s, 2) // instances 1,2 of p; 3 of q; 4 terminated
	rec := func(i, sec int) imgward.SnapshotRecord {
		return imgward.SnapshotRecord{InstanceID: instanceID(i), TakenAt: at(sec), ReceivedAt: at(sec + 1),
			Source: "sim", Body: []byte(fmt.Sprintf(`{"i":%d,"t":%d}`, i, sec))}
	}
	// The latest is the one received last, whatever its taken_at says.
	update(t, s, func(tx imgward.Tx) error {
		// Instance 1 twice in a batch, the later dated earlier; 4 is
		// terminated.
		return tx.PutSnapshots(ctx(t), []imgward.SnapshotRecord{rec(1, 10), rec(1, 5), rec(2, 3), rec(3, 4), rec(4, 4)})
	})
	update(t, s, func(tx imgward.Tx) error {
		// A snapshot of 2 dated before the stored one replaces it.
		return tx.PutSnapshots(ctx(t), []imgward.SnapshotRecord{rec(2, 1), rec(3, 9)})
	})
	want := []imgward.SnapshotRecord{rec(1, 5), rec(2, 1), rec(3, 9)}
	for i, c := range []int64{2, 2, 2} {
		want[i].Count = c
		want[i].ImageID, want[i].Publisher = imageID(1), p
	}
	want[2].ImageID, want[2].Publisher = imageID(2), q
	view(t, s, func(tx imgward.Tx) error {
		got, err := tx.LatestSnapshots(ctx(t), "", 0)
		if err != nil {
			return err
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("LatestSnapshots (-want +got):\n%s", diff)
		}
		page, err := tx.LatestSnapshots(ctx(t), instanceID(1), 1)
		if err != nil {
			return err
		}
		if diff := cmp.Diff(want[1:2], page); diff != "" {
			t.Errorf("LatestSnapshots after 1, limit 1 (-want +got):\n%s", diff)
		}
		return nil
	})
}

func testIdempotency(t *testing.T, s imgward.Store) {
	u := userID(1)
	first := imgward.IdempotentRecord{BodyHash: bytes.Repeat([]byte{7}, 32), Result: []byte(`{"accepted":3}`)}
	update(t, s, func(tx imgward.Tx) error {
		return tx.PutIdempotentResult(ctx(t), u, "k1", first, at(0), at(-60))
	})
	err := s.Update(ctx(t), func(tx imgward.Tx) error {
		return tx.PutIdempotentResult(ctx(t), u, "k1", imgward.IdempotentRecord{Result: []byte(`x`)}, at(1), at(-60))
	})
	wantKind(t, "PutIdempotentResult of a taken key", err, errors.Exist)
	update(t, s, func(tx imgward.Tx) error {
		// A record without a body hash (as kept before migration 0006).
		return tx.PutIdempotentResult(ctx(t), u, "k0", imgward.IdempotentRecord{Result: []byte(`{}`)}, at(0), at(-60))
	})
	view(t, s, func(tx imgward.Tx) error {
		got, err := tx.IdempotentResult(ctx(t), u, "k1")
		if err != nil || !cmp.Equal(*got, first) {
			t.Errorf("IdempotentResult = %+v, %v; want %+v", got, err, first)
		}
		got, err = tx.IdempotentResult(ctx(t), u, "k0")
		if err != nil || len(got.BodyHash) != 0 || string(got.Result) != `{}` {
			t.Errorf("IdempotentResult without a hash = %+v, %v", got, err)
		}
		_, err = tx.IdempotentResult(ctx(t), userID(2), "k1")
		wantKind(t, "another user's key", err, errors.NotExist)
		return nil
	})
	// A later put expires k1.
	update(t, s, func(tx imgward.Tx) error {
		return tx.PutIdempotentResult(ctx(t), u, "k2", imgward.IdempotentRecord{Result: []byte(`{}`)}, at(100), at(50))
	})
	view(t, s, func(tx imgward.Tx) error {
		_, err := tx.IdempotentResult(ctx(t), u, "k1")
		wantKind(t, "expired key", err, errors.NotExist)
		return nil
	})
}

func testRolesAndTrust(t *testing.T, s imgward.Store) {
	update(t, s, func(tx imgward.Tx) error {
		for _, step := range []func() error{
			func() error { return tx.SetImageRole(ctx(t), imageID(1), "web") },
			func() error { return tx.SetImageRole(ctx(t), imageID(2), "db") },
			func() error { return tx.SetImageRole(ctx(t), imageID(1), "batch") },
			func() error { return tx.SetImageRole(ctx(t), imageID(2), "") },
			func() error { return tx.SetPublisherTrust(ctx(t), projectID(2), true, at(0)) },
			func() error { return tx.SetPublisherTrust(ctx(t), projectID(1), true, at(0)) },
			func() error { return tx.SetPublisherTrust(ctx(t), projectID(1), true, at(1)) },
			func() error { return tx.SetPublisherTrust(ctx(t), projectID(3), true, at(1)) },
			func() error { return tx.SetPublisherTrust(ctx(t), projectID(3), false, at(2)) },
		} {
			if err := step(); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx imgward.Tx) error {
		roles, err := tx.ImageRoles(ctx(t))
		if err != nil {
			return err
		}
		if diff := cmp.Diff(map[imgward.ImageID]string{imageID(1): "batch"}, roles); diff != "" {
			t.Errorf("ImageRoles (-want +got):\n%s", diff)
		}
		ps, err := tx.TrustedPublishers(ctx(t))
		if err != nil {
			return err
		}
		if diff := cmp.Diff([]imgward.ProjectID{projectID(1), projectID(2)}, ps); diff != "" {
			t.Errorf("TrustedPublishers (-want +got):\n%s", diff)
		}
		return nil
	})
}

func testBaselines(t *testing.T, s imgward.Store) {
	bs := []imgward.Baseline{
		{Role: "web", Detector: "ensemble", Rows: 10, CreatedAt: at(0), Model: []byte("w1")},
		{Role: "db", Detector: "zscore", Rows: 5, CreatedAt: at(1), Model: []byte("d1")},
		{Role: "web", Detector: "ensemble", Rows: 12, CreatedAt: at(2), Model: []byte("w2")},
	}
	update(t, s, func(tx imgward.Tx) error {
		for i := range bs {
			if err := tx.PutBaseline(ctx(t), &bs[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if bs[0].Version != 1 || bs[1].Version != 1 || bs[2].Version != 2 {
		t.Errorf("versions %d %d %d, want 1 1 2", bs[0].Version, bs[1].Version, bs[2].Version)
	}
	view(t, s, func(tx imgward.Tx) error {
		latest, err := tx.LatestBaselines(ctx(t))
		if err != nil {
			return err
		}
		if diff := cmp.Diff([]imgward.Baseline{bs[1], bs[2]}, latest); diff != "" {
			t.Errorf("LatestBaselines (-want +got):\n%s", diff)
		}
		all, err := tx.ListBaselines(ctx(t))
		if err != nil {
			return err
		}
		want := []imgward.Baseline{bs[1], bs[0], bs[2]}
		for i := range want {
			want[i].Model = nil
		}
		if diff := cmp.Diff(want, all); diff != "" {
			t.Errorf("ListBaselines (-want +got):\n%s", diff)
		}
		return nil
	})
}
