package audit

import (
	"context"
	"log/slog"

	"imgward"
	"imgward/errors"
)

// Actor names principal p in the audit log: its user, or "system" for
// work that no user asked for.
func Actor(p imgward.Principal) string {
	if p.UserID == "" {
		return "system"
	}
	return string(p.UserID)
}

// Deny appends e as a denial, in a transaction of its own, and returns err,
// the denial the caller is told. A denial decided inside a transaction is
// audited here, after that transaction rolled back. When the entry cannot
// be written, nothing is denied silently: the failure is logged and the
// caller gets Unavailable instead of err.
func Deny(ctx context.Context, st imgward.Store, log *slog.Logger, e imgward.AuditEntry, err error) error {
	e.Result = imgward.ResultDenied
	// An append alone is a hot-path write (imgward.HotUpdater): denials
	// must not wait for each other across nodes.
	werr := imgward.UpdateHot(ctx, st, func(tx imgward.Tx) error { return tx.AppendAudit(ctx, &e) })
	if werr != nil {
		log.Error("audit of a denial failed", "action", e.Action, "object", e.Object, "err", werr)
		return errors.E("audit.Deny", errors.Unavailable, errors.Msg("audit log unavailable"), werr)
	}
	return err
}
