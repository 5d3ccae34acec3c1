package storetest

import (
	"testing"
	"time"

	"imgward"
	"imgward/errors"
)

func testUpdateRollsBack(t *testing.T, s imgward.Store) {
	p := &imgward.Project{ID: projectID(1), Name: "p", CreatedAt: at(0)}
	// A store error in the middle of fn: what fn wrote before it is gone.
	err := s.Update(ctx(t), func(tx imgward.Tx) error {
		if err := tx.CreateProject(ctx(t), p); err != nil {
			return err
		}
		if err := tx.CreateImage(ctx(t), newImage(1, p.ID, imgward.Public, at(0))); err != nil {
			return err
		}
		if err := tx.AppendAudit(ctx(t), &imgward.AuditEntry{Actor: "system", Action: "project.create"}); err != nil {
			return err
		}
		return tx.CreateProject(ctx(t), p)
	})
	wantKind(t, "Update whose fn failed on a taken id", err, errors.Exist)

	// fn's own error comes back as it is.
	errAbort := errors.New("abort")
	err = s.Update(ctx(t), func(tx imgward.Tx) error {
		if err := tx.CreateProject(ctx(t), p); err != nil {
			return err
		}
		return errAbort
	})
	if err != errAbort {
		t.Errorf("Update returned %v, want fn's error", err)
	}
	wantEmpty(t, s)
}

// wantEmpty fails the test unless s holds no project, image or audit entry
// of the failed transactions above.
func wantEmpty(t *testing.T, s imgward.Store) {
	t.Helper()
	view(t, s, func(tx imgward.Tx) error {
		_, err := tx.Project(ctx(t), projectID(1))
		wantKind(t, "Project written by a failed transaction", err, errors.NotExist)
		_, err = tx.Image(ctx(t), imageID(1))
		wantKind(t, "Image written by a failed transaction", err, errors.NotExist)
		es, err := tx.ListAudit(ctx(t), 0, 0)
		if err != nil {
			return err
		}
		if len(es) != 0 {
			t.Errorf("audit entries written by a failed transaction: %v", es)
		}
		return nil
	})
}

func testViewCannotWrite(t *testing.T, s imgward.Store) {
	writes := map[string]func(tx imgward.Tx) error{
		"CreateProject": func(tx imgward.Tx) error {
			return tx.CreateProject(ctx(t), &imgward.Project{ID: projectID(1), Name: "p"})
		},
		"CreateImage": func(tx imgward.Tx) error {
			return tx.CreateImage(ctx(t), newImage(1, projectID(1), imgward.Public, at(0)))
		},
		"AppendAudit": func(tx imgward.Tx) error {
			return tx.AppendAudit(ctx(t), &imgward.AuditEntry{Actor: "system", Action: "x"})
		},
	}
	for name, write := range writes {
		var werr error
		err := s.View(ctx(t), func(tx imgward.Tx) error {
			werr = write(tx)
			return nil // commit, if the store would
		})
		if werr == nil {
			t.Errorf("%s in View succeeded", name)
		}
		if err != nil {
			t.Logf("%s in View: View returned %v", name, err)
		}
	}
	wantEmpty(t, s)
}

// testTimeRoundTrip checks that every time a store keeps comes back in UTC
// at microsecond precision, whatever the zone and precision it was given.
func testTimeRoundTrip(t *testing.T, s imgward.Store) {
	zone := time.FixedZone("IST", 5*3600+1800)
	times := []time.Time{
		time.Date(2025, 1, 2, 3, 4, 5, 678901234, zone),
		time.Date(1969, 12, 31, 23, 59, 59, 500000999, time.UTC), // before the epoch
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, zone),
	}
	for i, tm := range times {
		want := tm.UTC().Truncate(time.Microsecond)
		img := newImage(i, projectID(1), imgward.Public, tm)
		img.UpdatedAt = tm
		in := &imgward.Instance{ID: instanceID(i), ImageID: img.ID, State: imgward.InstanceTerminated,
			CreatedAt: tm, TerminatedAt: tm}
		update(t, s, func(tx imgward.Tx) error {
			if err := tx.CreateImage(ctx(t), img); err != nil {
				return err
			}
			return tx.CreateInstance(ctx(t), in)
		})
		view(t, s, func(tx imgward.Tx) error {
			gi, err := tx.Image(ctx(t), img.ID)
			if err != nil {
				return err
			}
			gn, err := tx.Instance(ctx(t), in.ID)
			if err != nil {
				return err
			}
			for what, got := range map[string]time.Time{"Image.CreatedAt": gi.CreatedAt,
				"Image.UpdatedAt": gi.UpdatedAt, "Instance.TerminatedAt": gn.TerminatedAt} {
				// == and not Equal: the location must be UTC too.
				if got != want {
					t.Errorf("%s: stored %v, got %v, want %v", what, tm, got, want)
				}
			}
			return nil
		})
	}
}

// testViewOne checks imgward.ViewOne: a read of one statement answers as a
// View does; on a store that runs it outside a transaction
// (imgward.OneReader), a second statement is refused as a bug; on every
// store a write in it fails and commits nothing.
func testViewOne(t *testing.T, s imgward.Store) {
	u := imgward.User{ID: userID(1), Name: "alice", ProjectID: projectID(1), Role: imgward.RoleMember, CreatedAt: at(0)}
	k := imgward.Token{ID: "a", Hash: tokenHash("alice-1"), UserID: u.ID, CreatedAt: at(1)}
	update(t, s, func(tx imgward.Tx) error {
		if err := tx.CreateUser(ctx(t), &u); err != nil {
			return err
		}
		return tx.CreateToken(ctx(t), &k)
	})
	var got *imgward.User
	err := imgward.ViewOne(ctx(t), s, func(tx imgward.Tx) error {
		var err error
		got, _, err = tx.UserByTokenHash(ctx(t), k.Hash)
		return err
	})
	if err != nil || got.ID != u.ID {
		t.Fatalf("ViewOne of UserByTokenHash = %+v, %v; want user %s", got, err, u.ID)
	}
	err = imgward.ViewOne(ctx(t), s, func(tx imgward.Tx) error {
		_, _, err := tx.UserByTokenHash(ctx(t), tokenHash("nobody"))
		return err
	})
	wantKind(t, "ViewOne of an unknown token", err, errors.NotExist)
	err = imgward.ViewOne(ctx(t), s, func(tx imgward.Tx) error {
		if _, err := tx.User(ctx(t), u.ID); err != nil {
			return err
		}
		_, err := tx.Project(ctx(t), projectID(1))
		if errors.Is(errors.NotExist, err) {
			return nil
		}
		return err
	})
	if _, one := s.(imgward.OneReader); one {
		wantKind(t, "ViewOne of two statements", err, errors.Internal)
	} else if err != nil {
		t.Errorf("two statements in ViewOne, run as a View: %v", err)
	}
	err = imgward.ViewOne(ctx(t), s, func(tx imgward.Tx) error {
		return tx.CreateProject(ctx(t), &imgward.Project{ID: projectID(9), Name: "sneaky", CreatedAt: at(2)})
	})
	if err == nil {
		t.Error("a write in ViewOne succeeded")
	}
	view(t, s, func(tx imgward.Tx) error {
		_, err := tx.Project(ctx(t), projectID(9))
		wantKind(t, "the project a ViewOne tried to create", err, errors.NotExist)
		return nil
	})
}
