package storetest

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"imgward"
	"imgward/errors"
)

func testVerdicts(t *testing.T, s imgward.Store) {
	vs := []imgward.Verdict{
		{Kind: imgward.VerdictPublisher, Subject: string(projectID(1)), Score: 1.2, Threshold: 3, Instances: 7,
			Explanation: []byte(`[]`), State: imgward.VerdictOK, UpdatedAt: at(0)},
		{Kind: imgward.VerdictPublisher, Subject: string(projectID(2)), Score: 5.5, Threshold: 3, Instances: 9,
			Explanation: []byte(`[{"feature":"cpu"}]`), State: imgward.VerdictFlagged, UpdatedAt: at(0), Uncapped: 7.25},
		{Kind: imgward.VerdictImage, Subject: string(imageID(1)), Score: 9, Threshold: 3, Instances: 2,
			Explanation: []byte(`null`), State: imgward.VerdictOK, UpdatedAt: at(0)},
	}
	update(t, s, func(tx imgward.Tx) error {
		for i := range vs {
			if err := tx.PutVerdict(ctx(t), &vs[i]); err != nil {
				return err
			}
		}
		return nil
	})
	// Clearing replaces the verdict.
	vs[1].State, vs[1].ClearedBy, vs[1].UpdatedAt, vs[1].ClearedScore = imgward.VerdictCleared, userID(1), at(5), 7.25
	update(t, s, func(tx imgward.Tx) error { return tx.PutVerdict(ctx(t), &vs[1]) })
	view(t, s, func(tx imgward.Tx) error {
		got, err := tx.Verdict(ctx(t), imgward.VerdictPublisher, string(projectID(2)))
		if err != nil {
			return err
		}
		if diff := cmp.Diff(&vs[1], got); diff != "" {
			t.Errorf("Verdict (-want +got):\n%s", diff)
		}
		_, err = tx.Verdict(ctx(t), imgward.VerdictInstance, string(projectID(2)))
		wantKind(t, "Verdict of another kind", err, errors.NotExist)
		list, err := tx.ListVerdicts(ctx(t), imgward.VerdictPublisher)
		if err != nil {
			return err
		}
		if diff := cmp.Diff([]imgward.Verdict{vs[1], vs[0]}, list); diff != "" {
			t.Errorf("ListVerdicts, highest first (-want +got):\n%s", diff)
		}
		return nil
	})
}

func testEvents(t *testing.T, s imgward.Store) {
	es := []imgward.Event{
		{ProjectID: projectID(1), Kind: "publisher.flagged", Payload: []byte(`{"a":1}`), CreatedAt: at(0)},
		{ProjectID: projectID(2), Kind: "publisher.flagged", Payload: []byte(`{"b":2}`), CreatedAt: at(1)},
		{ProjectID: projectID(1), Kind: "publisher.cleared", Payload: []byte(`{}`), CreatedAt: at(2)},
	}
	update(t, s, func(tx imgward.Tx) error {
		for i := range es {
			if err := tx.AppendEvent(ctx(t), &es[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if !(es[0].ID > 0 && es[1].ID > es[0].ID && es[2].ID > es[1].ID) {
		t.Fatalf("event ids %d %d %d do not increase", es[0].ID, es[1].ID, es[2].ID)
	}
	tests := []struct {
		project imgward.ProjectID
		after   int64
		limit   int
		want    []imgward.Event
	}{
		{"", 0, 0, es},
		{projectID(1), 0, 0, []imgward.Event{es[0], es[2]}},
		{projectID(1), es[0].ID, 0, []imgward.Event{es[2]}},
		{"", 0, 2, es[:2]},
		{projectID(3), 0, 0, []imgward.Event{}},
	}
	view(t, s, func(tx imgward.Tx) error {
		for _, tt := range tests {
			got, err := tx.ListEvents(ctx(t), tt.project, tt.after, tt.limit)
			if err != nil {
				return err
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ListEvents(%q, %d, %d) (-want +got):\n%s", tt.project, tt.after, tt.limit, diff)
			}
		}
		return nil
	})
}

func testQuarantine(t *testing.T, s imgward.Store) {
	p, q := projectID(1), projectID(2)
	update(t, s, func(tx imgward.Tx) error {
		for n, owner := range map[int]imgward.ProjectID{1: p, 2: p, 3: q} {
			if err := tx.CreateImage(ctx(t), newImage(n, owner, imgward.Public, at(n))); err != nil {
				return err
			}
		}
		ids, err := tx.SetQuarantine(ctx(t), p, true)
		if diff := cmp.Diff([]imgward.ImageID{imageID(1), imageID(2)}, ids); diff != "" {
			t.Errorf("SetQuarantine (-want +got):\n%s", diff)
		}
		return err
	})
	listed := func(f imgward.ImageFilter) []imgward.ImageID {
		var ids []imgward.ImageID
		view(t, s, func(tx imgward.Tx) error {
			imgs, err := tx.ListImages(ctx(t), f)
			for _, img := range imgs {
				ids = append(ids, img.ID)
			}
			return err
		})
		return ids
	}
	view(t, s, func(tx imgward.Tx) error {
		for id, want := range map[imgward.ImageID]bool{imageID(1): true, imageID(3): false} {
			got, err := tx.ImageQuarantined(ctx(t), id)
			if err != nil || got != want {
				t.Errorf("ImageQuarantined(%s) = %v, %v; want %v", id, got, err, want)
			}
		}
		_, err := tx.ImageQuarantined(ctx(t), imageID(9))
		wantKind(t, "ImageQuarantined of an absent image", err, errors.NotExist)
		return nil
	})
	// Image reports the quarantine, and an update of the record read
	// before the flag does not lift it: only SetQuarantine does.
	update(t, s, func(tx imgward.Tx) error {
		img, err := tx.Image(ctx(t), imageID(1))
		if err != nil {
			return err
		}
		if !img.Quarantined {
			t.Error("Image of a quarantined image: Quarantined is false")
		}
		img.Quarantined, img.Name = false, "renamed"
		if err := tx.UpdateImage(ctx(t), img); err != nil {
			return err
		}
		if img, err = tx.Image(ctx(t), imageID(1)); err != nil || !img.Quarantined || img.Name != "renamed" {
			t.Errorf("after UpdateImage: %+v, %v; want renamed and still quarantined", img, err)
		}
		if img, err = tx.Image(ctx(t), imageID(3)); err != nil || img.Quarantined {
			t.Errorf("Image of another owner's image: %+v, %v; want not quarantined", img, err)
		}
		return nil
	})
	stranger := imgward.ImageFilter{Viewer: projectID(5)}
	if got := listed(stranger); !cmp.Equal(got, []imgward.ImageID{imageID(3)}) {
		t.Errorf("a stranger lists %v, want only image 3", got)
	}
	if got := listed(imgward.ImageFilter{Viewer: projectID(5), Visibility: imgward.Public}); len(got) != 1 {
		t.Errorf("a stranger lists public %v, want only image 3", got)
	}
	if got := listed(imgward.ImageFilter{Viewer: p}); len(got) != 3 {
		t.Errorf("the owner lists %v, want all 3", got)
	}
	if got := listed(imgward.ImageFilter{Admin: true}); len(got) != 3 {
		t.Errorf("an admin lists %v, want all 3", got)
	}
	update(t, s, func(tx imgward.Tx) error { _, err := tx.SetQuarantine(ctx(t), p, false); return err })
	if got := listed(stranger); len(got) != 3 {
		t.Errorf("after release a stranger lists %v, want all 3", got)
	}
}
