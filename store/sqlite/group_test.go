package sqlite

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"imgward"
	"imgward/errors"
)

// TestGroupCommit runs many concurrent writes, some failing and one
// panicking, so that they share commits: each caller's work must be all or
// nothing, whatever its neighbours in the group did.
func TestGroupCommit(t *testing.T) {
	s := openTemp(t)
	const n = 200
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = s.Update(t.Context(), func(tx imgward.Tx) error {
				p := &imgward.Project{ID: imgward.ProjectID(fmt.Sprintf("%032d", i)), Name: "p", CreatedAt: time.Now()}
				if err := tx.CreateProject(t.Context(), p); err != nil {
					return err
				}
				switch {
				case i == 7:
					panic("a bug in a caller")
				case i%3 == 0:
					return errors.E("test", errors.Conflict, errors.Msg("changed my mind"))
				}
				return tx.AppendAudit(t.Context(), &imgward.AuditEntry{Actor: "t", Action: "a", Object: string(p.ID), Result: "ok"})
			})
		})
	}
	wg.Wait()
	var ps []imgward.Project
	var log []imgward.AuditEntry
	s.View(t.Context(), func(tx imgward.Tx) error {
		ps, _ = tx.ListProjects(t.Context())
		log, _ = tx.ListAudit(t.Context(), 0, 0)
		return nil
	})
	kept := map[imgward.ProjectID]bool{}
	for _, p := range ps {
		kept[p.ID] = true
	}
	for i, err := range errs {
		id := imgward.ProjectID(fmt.Sprintf("%032d", i))
		switch {
		case i == 7:
			if !errors.Is(errors.Internal, err) || kept[id] {
				t.Errorf("panicking write: err %v, kept %v", err, kept[id])
			}
		case i%3 == 0:
			if !errors.Is(errors.Conflict, err) || kept[id] {
				t.Errorf("write %d: err %v, kept %v", i, err, kept[id])
			}
		default:
			if err != nil || !kept[id] {
				t.Errorf("write %d: err %v, kept %v", i, err, kept[id])
			}
		}
	}
	want := n - (n+2)/3 - 1
	if len(ps) != want || len(log) != want {
		t.Fatalf("%d projects and %d audit entries, want %d", len(ps), len(log), want)
	}
	for i, e := range log {
		if e.Seq != int64(i+1) {
			t.Fatalf("audit entry %d has seq %d", i, e.Seq)
		}
	}
}

// TestCloseAnswersWaiters checks that Close answers every queued write and
// that writes after Close fail at once.
func TestCloseAnswersWaiters(t *testing.T) {
	s := openTemp(t)
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			s.Update(context.Background(), func(tx imgward.Tx) error { return nil })
		})
	}
	s.Close()
	wg.Wait() // would hang if a queued write were never answered
	if err := s.Update(t.Context(), func(tx imgward.Tx) error { return nil }); !errors.Is(errors.Unavailable, err) {
		t.Fatalf("update after close: %v", err)
	}
}

// TestGroupCommitCancelledCaller checks that a caller whose context ends
// while its write runs does not reach SQLite: an interrupted statement
// would roll back the transaction that the whole group shares. Its write
// runs to its end and commits with the others.
func TestGroupCommitCancelledCaller(t *testing.T) {
	s := openTemp(t)
	const n = 50
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			errs[i] = s.Update(ctx, func(tx imgward.Tx) error {
				p := &imgward.Project{ID: imgward.ProjectID(fmt.Sprintf("%032d", i)), Name: "p", CreatedAt: time.Now()}
				if err := tx.CreateProject(ctx, p); err != nil {
					return err
				}
				if i%2 == 0 {
					cancel() // the client went away
				}
				return tx.AppendAudit(ctx, &imgward.AuditEntry{Actor: "t", Action: "a", Object: string(p.ID), Result: "ok"})
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("write %d: %v", i, err)
		}
	}
	var ps []imgward.Project
	var log []imgward.AuditEntry
	s.View(t.Context(), func(tx imgward.Tx) error {
		ps, _ = tx.ListProjects(t.Context())
		log, _ = tx.ListAudit(t.Context(), 0, 0)
		return nil
	})
	if len(ps) != n || len(log) != n {
		t.Errorf("%d projects and %d audit entries, want %d", len(ps), len(log), n)
	}
}
