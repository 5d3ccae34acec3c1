package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"imgward"
	"imgward/audit"
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
	ps, log := projectsAndLog(t, s)
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
	ps, log := projectsAndLog(t, s)
	if len(ps) != n || len(log) != n {
		t.Errorf("%d projects and %d audit entries, want %d", len(ps), len(log), n)
	}
}

// TestGroupCommitAuditSeq checks the audit sequence that the writes of one
// group share (sqlstore.Group): entries of writes that commit are numbered
// 1, 2, 3... without a gap, a write rolled back after it appended gives its
// numbers back, and each entry's hash covers the number it got.
func TestGroupCommitAuditSeq(t *testing.T) {
	s := openTemp(t)
	const n = 300
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = s.Update(t.Context(), func(tx imgward.Tx) error {
				for k := range 1 + i%2 { // some writes append twice
					e := &imgward.AuditEntry{Actor: "t", Action: "a", Object: fmt.Sprintf("%d/%d", i, k), Result: "ok"}
					if err := tx.AppendAudit(t.Context(), e); err != nil {
						return err
					}
				}
				if i%3 == 0 {
					return errors.E("test", errors.Conflict, errors.Msg("changed my mind after appending"))
				}
				return nil
			})
		})
	}
	wg.Wait()
	var log []imgward.AuditEntry
	if err := s.View(t.Context(), func(tx imgward.Tx) (err error) {
		log, err = tx.ListAudit(t.Context(), 0, 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for i, err := range errs {
		if (err != nil) != (i%3 == 0) {
			t.Fatalf("write %d: %v", i, err)
		}
		for k := range 1 + i%2 {
			if i%3 != 0 {
				want[fmt.Sprintf("%d/%d", i, k)] = true
			}
		}
	}
	if len(log) != len(want) {
		t.Fatalf("%d audit entries, want %d", len(log), len(want))
	}
	for i, e := range log {
		if e.Seq != int64(i+1) || !want[e.Object] || !bytes.Equal(audit.Hash(&e), e.Hash) {
			t.Fatalf("entry %d: seq %d, object %q (wanted %v), hash verifies %v", i, e.Seq, e.Object, want[e.Object], bytes.Equal(audit.Hash(&e), e.Hash))
		}
	}
	if s.commits >= n {
		t.Logf("%d commits for %d writes: no group formed, the shared sequence went untested", s.commits, n)
	}
}

// TestAuditSeqAfterAnotherWriter checks that the audit sequence the writer
// remembers gives way when another process appended to the log meanwhile:
// the next append takes the number after that process's entry.
func TestAuditSeqAfterAnotherWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "imgward.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	appendOne := func(object string) *imgward.AuditEntry {
		e := &imgward.AuditEntry{Actor: "t", Action: "a", Object: object, Result: "ok"}
		if err := s.Update(t.Context(), func(tx imgward.Tx) error { return tx.AppendAudit(t.Context(), e) }); err != nil {
			t.Fatalf("append %s: %v", object, err)
		}
		return e
	}
	appendOne("first")
	appendOne("second") // the writer now expects 3 next
	other, err := sql.Open("sqlite", "file:"+path+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	e := &imgward.AuditEntry{Seq: 3, Time: time.Now().UTC().Truncate(time.Microsecond), Actor: "other", Action: "a", Object: "by another process", Result: "ok"}
	audit.Seal(e)
	if _, err := other.Exec(`INSERT INTO audit_log (seq, time, actor, action, object, result, reason, prev, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.Seq, e.Time.UnixMicro(), e.Actor, e.Action, e.Object, e.Result, e.Reason, []byte{}, e.Hash); err != nil {
		t.Fatal(err)
	}
	if got := appendOne("third"); got.Seq != 4 {
		t.Errorf("append after another process's entry 3 got seq %d, want 4", got.Seq)
	}
	var log []imgward.AuditEntry
	s.View(t.Context(), func(tx imgward.Tx) (err error) {
		log, err = tx.ListAudit(t.Context(), 0, 0)
		return err
	})
	for i, e := range log {
		if e.Seq != int64(i+1) || !bytes.Equal(audit.Hash(&e), e.Hash) {
			t.Errorf("entry %d: seq %d %q, hash verifies %v", i, e.Seq, e.Object, bytes.Equal(audit.Hash(&e), e.Hash))
		}
	}
	if len(log) != 4 {
		t.Errorf("%d entries, want 4", len(log))
	}
}

// TestAloneWrite checks a write that has its transaction to itself, which
// runs without a savepoint: failing or panicking, it leaves nothing behind,
// not even its audit entry's number, and the writer goes on.
func TestAloneWrite(t *testing.T) {
	s := openTemp(t)
	write := func(id string, then func() error) error {
		return s.Update(t.Context(), func(tx imgward.Tx) error {
			p := &imgward.Project{ID: imgward.ProjectID(id), Name: "p", CreatedAt: time.Now()}
			if err := tx.CreateProject(t.Context(), p); err != nil {
				return err
			}
			if err := tx.AppendAudit(t.Context(), &imgward.AuditEntry{Actor: "t", Action: "a", Object: id, Result: "ok"}); err != nil {
				return err
			}
			return then()
		})
	}
	id := func(i int) string { return fmt.Sprintf("%032d", i) }
	if err := write(id(1), func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := write(id(2), func() error { return errors.E("test", errors.Conflict, errors.Msg("no")) }); !errors.Is(errors.Conflict, err) {
		t.Errorf("failing write: %v", err)
	}
	if err := write(id(3), func() error { panic("a bug in a caller") }); !errors.Is(errors.Internal, err) {
		t.Errorf("panicking write: %v", err)
	}
	if err := write(id(4), func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	ps, log := projectsAndLog(t, s)
	if len(ps) != 2 || ps[0].ID != imgward.ProjectID(id(1)) || ps[1].ID != imgward.ProjectID(id(4)) {
		t.Errorf("projects %+v, want %s and %s only", ps, id(1), id(4))
	}
	if len(log) != 2 || log[0].Seq != 1 || log[1].Seq != 2 || log[1].Object != id(4) {
		t.Errorf("audit log %+v, want entries 1 and 2, for %s and %s", log, id(1), id(4))
	}
}

// projectsAndLog reads every project and audit entry of s.
func projectsAndLog(t *testing.T, s *Store) (ps []imgward.Project, log []imgward.AuditEntry) {
	t.Helper()
	err := s.View(t.Context(), func(tx imgward.Tx) (err error) {
		if ps, err = tx.ListProjects(t.Context()); err != nil {
			return err
		}
		log, err = tx.ListAudit(t.Context(), 0, 0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return ps, log
}
