package storetest

import (
	"testing"

	"imgward"
	"imgward/errors"
)

// testLateWrites checks that a write whose error a store reports late (on
// PostgreSQL, CreateInstance and the audit insert wait for the next
// statement that needs an answer or for the commit, and go with it) is
// still all or nothing, on Update and UpdateHot alike: its failure fails
// the transaction with the write's own kind, nothing of the transaction
// commits, and a read after it sees it.
func testLateWrites(t *testing.T, s imgward.Store) {
	writes := []struct {
		name   string
		update func(imgward.Store, func(imgward.Tx) error) error
	}{
		{"Update", func(s imgward.Store, fn func(imgward.Tx) error) error { return s.Update(ctx(t), fn) }},
		{"UpdateHot", func(s imgward.Store, fn func(imgward.Tx) error) error {
			return imgward.UpdateHot(ctx(t), s, fn)
		}},
	}
	for i, w := range writes {
		taken := &imgward.Instance{ID: instanceID(100 + i), ImageID: imageID(1), ProjectID: projectID(2),
			UserID: userID(2), Host: "h", State: imgward.InstanceRunning, CreatedAt: at(0)}
		fresh := *taken
		fresh.ID = instanceID(200 + i)
		if err := w.update(s, func(tx imgward.Tx) error { return tx.CreateInstance(ctx(t), taken) }); err != nil {
			t.Fatalf("%s: CreateInstance: %v", w.name, err)
		}
		entries := auditCount(t, s)
		audited := func(tx imgward.Tx) error {
			return tx.AppendAudit(ctx(t), &imgward.AuditEntry{Actor: "system", Action: "instance.launch"})
		}

		// The taken id fails the transaction at its commit: the audit
		// entry appended after it is rolled back with it.
		err := w.update(s, func(tx imgward.Tx) error {
			if err := tx.CreateInstance(ctx(t), taken); err != nil {
				return err
			}
			return audited(tx)
		})
		wantKind(t, w.name+": CreateInstance of a taken id, then an append", err, errors.Exist)
		if got := auditCount(t, s); got != entries {
			t.Errorf("%s: audit log has %d entries after a failed transaction, want %d", w.name, got, entries)
		}

		// A read after the failed write: the write's error, not the
		// read's in a transaction already aborted.
		err = w.update(s, func(tx imgward.Tx) error {
			if err := tx.CreateInstance(ctx(t), taken); err != nil {
				return err
			}
			_, err := tx.Instance(ctx(t), taken.ID)
			return err
		})
		wantKind(t, w.name+": CreateInstance of a taken id, then a read", err, errors.Exist)

		// A read after a write sees it, and both commit.
		err = w.update(s, func(tx imgward.Tx) error {
			if err := tx.CreateInstance(ctx(t), &fresh); err != nil {
				return err
			}
			if _, err := tx.Instance(ctx(t), fresh.ID); err != nil {
				t.Errorf("%s: the transaction does not read its own instance: %v", w.name, err)
			}
			return audited(tx)
		})
		if err != nil {
			t.Fatalf("%s: CreateInstance, Instance, AppendAudit: %v", w.name, err)
		}
		checkInstance(t, s, &fresh)
		if got := auditCount(t, s); got != entries+1 {
			t.Errorf("%s: audit log has %d entries, want %d", w.name, got, entries+1)
		}
	}
}

// auditCount returns the number of entries in the audit log.
func auditCount(t *testing.T, s imgward.Store) int {
	t.Helper()
	var n int
	view(t, s, func(tx imgward.Tx) error {
		es, err := tx.ListAudit(ctx(t), 0, 100000)
		n = len(es)
		return err
	})
	return n
}
