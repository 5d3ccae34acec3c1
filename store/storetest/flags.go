package storetest

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"imgward"
	"imgward/errors"
)

func testFlags(t *testing.T, s imgward.Store) {
	p := projectID(1)
	f1 := &imgward.Flag{ImageID: imageID(1), DerivedFrom: imageID(9), Fraction: 0.8125,
		Reason: "derived from image X", CreatedAt: at(1)}
	f2 := &imgward.Flag{ImageID: imageID(2), Reason: "sealed image of another owner", Fraction: 1, CreatedAt: at(0)}
	err := s.Update(ctx(t), func(tx imgward.Tx) error { return tx.CreateFlag(ctx(t), f1) })
	wantKind(t, "CreateFlag of an absent image", err, errors.NotExist)
	update(t, s, func(tx imgward.Tx) error {
		for _, n := range []int{1, 2, 3} {
			if err := tx.CreateImage(ctx(t), newImage(n, p, imgward.Private, at(0))); err != nil {
				return err
			}
		}
		if err := tx.CreateFlag(ctx(t), f1); err != nil {
			return err
		}
		return tx.CreateFlag(ctx(t), f2)
	})
	err = s.Update(ctx(t), func(tx imgward.Tx) error { return tx.CreateFlag(ctx(t), f1) })
	wantKind(t, "CreateFlag twice", err, errors.Exist)

	cleared := *f1
	cleared.ClearedBy, cleared.ClearedAt = userID(1), at(5)
	update(t, s, func(tx imgward.Tx) error { return tx.UpdateFlag(ctx(t), &cleared) })
	view(t, s, func(tx imgward.Tx) error {
		got, err := tx.Flag(ctx(t), imageID(1))
		if err != nil {
			return err
		}
		if diff := cmp.Diff(&cleared, got); diff != "" {
			t.Errorf("Flag (-want +got):\n%s", diff)
		}
		if !got.Cleared() {
			t.Error("Cleared() = false after clearing")
		}
		_, err = tx.Flag(ctx(t), imageID(3))
		wantKind(t, "Flag of an unflagged image", err, errors.NotExist)
		for _, tt := range []struct {
			all  bool
			want []imgward.Flag
		}{{false, []imgward.Flag{*f2}}, {true, []imgward.Flag{*f2, cleared}}} {
			got, err := tx.ListFlags(ctx(t), tt.all)
			if err != nil {
				return err
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ListFlags(%v) (-want +got):\n%s", tt.all, diff)
			}
		}
		return nil
	})
	err = s.Update(ctx(t), func(tx imgward.Tx) error {
		return tx.UpdateFlag(ctx(t), &imgward.Flag{ImageID: imageID(3)})
	})
	wantKind(t, "UpdateFlag of an unflagged image", err, errors.NotExist)
	update(t, s, func(tx imgward.Tx) error { return tx.DeleteImage(ctx(t), imageID(2)) })
	view(t, s, func(tx imgward.Tx) error {
		_, err := tx.Flag(ctx(t), imageID(2))
		wantKind(t, "Flag of a deleted image", err, errors.NotExist)
		return nil
	})
}
