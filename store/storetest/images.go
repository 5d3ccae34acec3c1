package storetest

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"imgward"
	"imgward/errors"
)

func testImages(t *testing.T, s imgward.Store) {
	img := newImage(1, projectID(1), imgward.Shared, at(0))
	bare := &imgward.Image{ID: imageID(2), Owner: projectID(1), Status: imgward.StatusQueued,
		Visibility: imgward.Private, CreatedAt: at(1), UpdatedAt: at(1)} // nil Tags, Properties
	update(t, s, func(tx imgward.Tx) error {
		if err := tx.CreateImage(ctx(t), img); err != nil {
			return err
		}
		return tx.CreateImage(ctx(t), bare)
	})
	err := s.Update(ctx(t), func(tx imgward.Tx) error {
		return tx.CreateImage(ctx(t), newImage(1, projectID(2), imgward.Public, at(3)))
	})
	wantKind(t, "CreateImage of a taken id", err, errors.Exist)

	// Nil tags and properties come back empty and non-nil.
	wantBare := *bare
	wantBare.Tags, wantBare.Properties = []string{}, map[string]string{}
	checkImage(t, s, img)
	checkImage(t, s, &wantBare)

	changed := *img
	changed.Name, changed.Status, changed.Visibility = "renamed", imgward.StatusKilled, imgward.Public
	changed.Protected = !img.Protected
	changed.Tags = []string{"b", "a", "c"} // order kept
	changed.Properties = map[string]string{"k": ""}
	changed.Size, changed.UpdatedAt = 0, at(9)
	update(t, s, func(tx imgward.Tx) error { return tx.UpdateImage(ctx(t), &changed) })
	checkImage(t, s, &changed)
	checkImage(t, s, &wantBare) // untouched by the other's update

	err = s.Update(ctx(t), func(tx imgward.Tx) error {
		return tx.UpdateImage(ctx(t), newImage(7, projectID(1), imgward.Public, at(0)))
	})
	wantKind(t, "UpdateImage of an absent image", err, errors.NotExist)
	view(t, s, func(tx imgward.Tx) error {
		_, err := tx.Image(ctx(t), imageID(7))
		wantKind(t, "Image of an absent id", err, errors.NotExist)
		return nil
	})
}

// checkImage fails the test unless the store holds want.
func checkImage(t *testing.T, s imgward.Store, want *imgward.Image) {
	t.Helper()
	view(t, s, func(tx imgward.Tx) error {
		got, err := tx.Image(ctx(t), want.ID)
		if err != nil {
			return err
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Image %s (-want +got):\n%s", want.ID, diff)
		}
		return nil
	})
}

func testDeleteImage(t *testing.T, s imgward.Store) {
	img, other := newImage(1, projectID(1), imgward.Shared, at(0)), newImage(2, projectID(1), imgward.Shared, at(1))
	update(t, s, func(tx imgward.Tx) error {
		for _, img := range []*imgward.Image{img, other} {
			if err := tx.CreateImage(ctx(t), img); err != nil {
				return err
			}
			for _, p := range []int{2, 3} {
				m := &imgward.Member{ImageID: img.ID, MemberID: projectID(p), Status: imgward.MemberAccepted, CreatedAt: at(p)}
				if err := tx.CreateMember(ctx(t), m); err != nil {
					return err
				}
			}
		}
		return tx.DeleteImage(ctx(t), img.ID)
	})
	err := s.Update(ctx(t), func(tx imgward.Tx) error { return tx.DeleteImage(ctx(t), img.ID) })
	wantKind(t, "DeleteImage of a deleted image", err, errors.NotExist)

	// An image made again under the same id has no members left over.
	update(t, s, func(tx imgward.Tx) error { return tx.CreateImage(ctx(t), img) })
	view(t, s, func(tx imgward.Tx) error {
		ms, err := tx.ListMembers(ctx(t), img.ID)
		if err != nil {
			return err
		}
		if len(ms) != 0 {
			t.Errorf("members of a deleted image survive: %v", ms)
		}
		_, err = tx.Member(ctx(t), img.ID, projectID(2))
		wantKind(t, "Member of a deleted image", err, errors.NotExist)
		ms, err = tx.ListMembers(ctx(t), other.ID)
		if err != nil {
			return err
		}
		if len(ms) != 2 {
			t.Errorf("the other image has %d members, want 2", len(ms))
		}
		return nil
	})
}

func testImagesInStatus(t *testing.T, s imgward.Store) {
	statuses := []imgward.ImageStatus{imgward.StatusSaving, imgward.StatusActive, imgward.StatusSaving, imgward.StatusSaving}
	created := []int{5, 1, 2, 2} // a tie, broken by id
	update(t, s, func(tx imgward.Tx) error {
		for i, st := range statuses {
			img := newImage(i, projectID(1), imgward.Private, at(created[i]))
			img.Status = st
			if err := tx.CreateImage(ctx(t), img); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx imgward.Tx) error {
		imgs, err := tx.ImagesInStatus(ctx(t), imgward.StatusSaving)
		if err != nil {
			return err
		}
		want := []imgward.ImageID{imageID(2), imageID(3), imageID(0)} // oldest first
		if diff := cmp.Diff(want, ids(imgs)); diff != "" {
			t.Errorf("ImagesInStatus(saving) (-want +got):\n%s", diff)
		}
		imgs, err = tx.ImagesInStatus(ctx(t), imgward.StatusKilled)
		if err != nil {
			return err
		}
		if imgs == nil || len(imgs) != 0 {
			t.Errorf("ImagesInStatus(killed) = %#v, want empty and non-nil", imgs)
		}
		return nil
	})
}

func ids(imgs []imgward.Image) []imgward.ImageID {
	out := []imgward.ImageID{}
	for _, img := range imgs {
		out = append(out, img.ID)
	}
	return out
}

func testMembers(t *testing.T, s imgward.Store) {
	img := newImage(1, projectID(1), imgward.Shared, at(0))
	ms := []imgward.Member{
		{ImageID: img.ID, MemberID: projectID(3), Status: imgward.MemberPending, CreatedAt: at(2), UpdatedAt: at(2)},
		{ImageID: img.ID, MemberID: projectID(2), Status: imgward.MemberAccepted, CreatedAt: at(1), UpdatedAt: at(3)},
	}
	update(t, s, func(tx imgward.Tx) error {
		if err := tx.CreateImage(ctx(t), img); err != nil {
			return err
		}
		for i := range ms {
			if err := tx.CreateMember(ctx(t), &ms[i]); err != nil {
				return err
			}
		}
		return nil
	})
	bad := map[string]struct {
		fn   func(tx imgward.Tx) error
		kind errors.Kind
	}{
		"CreateMember of a taken member": {func(tx imgward.Tx) error { return tx.CreateMember(ctx(t), &ms[0]) }, errors.Exist},
		"CreateMember of an absent image": {func(tx imgward.Tx) error {
			return tx.CreateMember(ctx(t), &imgward.Member{ImageID: imageID(9), MemberID: projectID(2), Status: imgward.MemberPending})
		}, errors.NotExist},
		"UpdateMember of an absent member": {func(tx imgward.Tx) error {
			return tx.UpdateMember(ctx(t), &imgward.Member{ImageID: img.ID, MemberID: projectID(9), Status: imgward.MemberAccepted})
		}, errors.NotExist},
		"DeleteMember of an absent member": {func(tx imgward.Tx) error { return tx.DeleteMember(ctx(t), img.ID, projectID(9)) }, errors.NotExist},
	}
	for what, b := range bad {
		wantKind(t, what, s.Update(ctx(t), b.fn), b.kind)
	}

	ms[0].Status, ms[0].UpdatedAt = imgward.MemberRejected, at(7)
	update(t, s, func(tx imgward.Tx) error {
		if err := tx.UpdateMember(ctx(t), &ms[0]); err != nil {
			return err
		}
		return tx.CreateMember(ctx(t), &imgward.Member{ImageID: img.ID, MemberID: projectID(4), Status: imgward.MemberPending, CreatedAt: at(8)})
	})
	update(t, s, func(tx imgward.Tx) error { return tx.DeleteMember(ctx(t), img.ID, projectID(4)) })
	view(t, s, func(tx imgward.Tx) error {
		got, err := tx.Member(ctx(t), img.ID, projectID(3))
		if err != nil {
			return err
		}
		if diff := cmp.Diff(&ms[0], got); diff != "" {
			t.Errorf("Member after UpdateMember (-want +got):\n%s", diff)
		}
		_, err = tx.Member(ctx(t), img.ID, projectID(4))
		wantKind(t, "Member after DeleteMember", err, errors.NotExist)
		list, err := tx.ListMembers(ctx(t), img.ID)
		if err != nil {
			return err
		}
		if diff := cmp.Diff([]imgward.Member{ms[1], ms[0]}, list); diff != "" { // by creation time
			t.Errorf("ListMembers (-want +got):\n%s", diff)
		}
		return nil
	})
}
