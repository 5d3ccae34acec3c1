package audit_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"imgward"
	"imgward/audit"
	"imgward/errors"
	"imgward/store/sqlite"
)

// failingStore fails every write, as a store whose disk is full would.
type failingStore struct{ imgward.Store }

func (failingStore) Update(context.Context, func(imgward.Tx) error) error {
	return errors.E("test", errors.Unavailable, errors.New("disk full"))
}

func TestDeny(t *testing.T) {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "imgward.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	denied := errors.E("test", errors.Permission, errors.Msg("no"))
	e := imgward.AuditEntry{Time: time.Unix(1000, 0).UTC(), Actor: audit.Actor(imgward.Principal{}),
		Action: "image.delete", Object: "image/x", Reason: "not the owner"}

	if got := audit.Deny(t.Context(), st, quiet, e, denied); got != denied {
		t.Errorf("Deny = %v, want the denial itself", got)
	}
	var log []imgward.AuditEntry
	st.View(t.Context(), func(tx imgward.Tx) error {
		log, err = tx.ListAudit(t.Context(), 0, 10)
		return err
	})
	if len(log) != 1 || log[0].Result != imgward.ResultDenied || log[0].Actor != "system" ||
		log[0].Action != e.Action || log[0].Object != e.Object || log[0].Reason != e.Reason {
		t.Errorf("audit log %+v, want the one denial", log)
	}

	// A denial that cannot be audited is not told as a denial.
	got := audit.Deny(t.Context(), failingStore{st}, quiet, e, denied)
	if !errors.Is(errors.Unavailable, got) || errors.Message(got) != "audit log unavailable" {
		t.Errorf("Deny with a failing store = %v, want Unavailable", got)
	}
}
