package storetest

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"imgward"
	"imgward/errors"
)

func testInstances(t *testing.T, s imgward.Store) {
	in := &imgward.Instance{ID: instanceID(1), ImageID: imageID(1), ProjectID: projectID(2),
		UserID: userID(2), Host: "compute-7", State: imgward.InstanceRunning, CreatedAt: at(0)}
	update(t, s, func(tx imgward.Tx) error { return tx.CreateInstance(ctx(t), in) })
	checkInstance(t, s, in) // TerminatedAt zero while running

	err := s.Update(ctx(t), func(tx imgward.Tx) error { return tx.CreateInstance(ctx(t), in) })
	wantKind(t, "CreateInstance of a taken id", err, errors.Exist)

	done := *in
	done.State, done.TerminatedAt, done.Host = imgward.InstanceTerminated, at(60), ""
	update(t, s, func(tx imgward.Tx) error { return tx.UpdateInstance(ctx(t), &done) })
	checkInstance(t, s, &done)

	err = s.Update(ctx(t), func(tx imgward.Tx) error {
		return tx.UpdateInstance(ctx(t), &imgward.Instance{ID: instanceID(9), State: imgward.InstanceRunning})
	})
	wantKind(t, "UpdateInstance of an absent instance", err, errors.NotExist)
	view(t, s, func(tx imgward.Tx) error {
		_, err := tx.Instance(ctx(t), instanceID(9))
		wantKind(t, "Instance of an absent id", err, errors.NotExist)
		return nil
	})
}

func checkInstance(t *testing.T, s imgward.Store, want *imgward.Instance) {
	t.Helper()
	view(t, s, func(tx imgward.Tx) error {
		got, err := tx.Instance(ctx(t), want.ID)
		if err != nil {
			return err
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Instance %s (-want +got):\n%s", want.ID, diff)
		}
		return nil
	})
}

func testListInstances(t *testing.T, s imgward.Store) {
	// Images 1 and 2 are p's, 3 is q's; projects x and y launch them.
	p, q, x, y := projectID(1), projectID(2), projectID(3), projectID(4)
	run, term := imgward.InstanceRunning, imgward.InstanceTerminated
	instances := []imgward.Instance{
		{ID: instanceID(1), ImageID: imageID(1), ProjectID: x, State: run, CreatedAt: at(0)},
		{ID: instanceID(2), ImageID: imageID(1), ProjectID: y, State: term, CreatedAt: at(1), TerminatedAt: at(5)},
		{ID: instanceID(4), ImageID: imageID(3), ProjectID: x, State: run, CreatedAt: at(2)},
		{ID: instanceID(3), ImageID: imageID(2), ProjectID: x, State: run, CreatedAt: at(2)}, // a tie
		{ID: instanceID(5), ImageID: imageID(3), ProjectID: y, State: term, CreatedAt: at(3), TerminatedAt: at(4)},
	}
	update(t, s, func(tx imgward.Tx) error {
		for n, owner := range map[int]imgward.ProjectID{1: p, 2: p, 3: q} {
			if err := tx.CreateImage(ctx(t), newImage(n, owner, imgward.Public, at(0))); err != nil {
				return err
			}
		}
		for i := range instances {
			instances[i].UserID, instances[i].Host = userID(1), "h"
			if err := tx.CreateInstance(ctx(t), &instances[i]); err != nil {
				return err
			}
		}
		return nil
	})
	tests := []struct {
		name string
		f    imgward.InstanceFilter
		want []int // instance numbers, newest first
	}{
		{"all", imgward.InstanceFilter{}, []int{5, 4, 3, 2, 1}},
		{"image", imgward.InstanceFilter{ImageID: imageID(1)}, []int{2, 1}},
		{"publisher", imgward.InstanceFilter{Publisher: p}, []int{3, 2, 1}},
		{"project", imgward.InstanceFilter{ProjectID: x}, []int{4, 3, 1}},
		{"state", imgward.InstanceFilter{State: term}, []int{5, 2}},
		{"publisher and state", imgward.InstanceFilter{Publisher: q, State: run}, []int{4}},
		{"image and project", imgward.InstanceFilter{ImageID: imageID(1), ProjectID: y}, []int{2}},
		{"publisher of nothing", imgward.InstanceFilter{Publisher: x}, []int{}},
	}
	view(t, s, func(tx imgward.Tx) error {
		for _, tt := range tests {
			got, err := tx.ListInstances(ctx(t), tt.f)
			if err != nil {
				t.Errorf("%s: ListInstances: %v", tt.name, err)
				continue
			}
			want := []imgward.Instance{}
			for _, n := range tt.want {
				for _, in := range instances {
					if in.ID == instanceID(n) {
						want = append(want, in)
					}
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s: ListInstances(%+v) (-want +got):\n%s", tt.name, tt.f, diff)
			}
		}
		return nil
	})
}
