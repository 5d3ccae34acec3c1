package monitor

import (
	"context"
	"slices"

	"imgward"
	"imgward/errors"
)

// Verdicts lists the verdicts of one kind, highest score first, only those
// in state when it is not "" (admin only): the flagged publishers and
// images are what an operator acts on.
func (s *Service) Verdicts(ctx context.Context, p imgward.Principal, kind imgward.VerdictKind, state imgward.VerdictState) ([]imgward.Verdict, error) {
	const op = "monitor.Verdicts"
	if err := s.requireAdmin(ctx, p, op, "verdict.list", "verdicts"); err != nil {
		return nil, err
	}
	switch kind {
	case imgward.VerdictInstance, imgward.VerdictImage, imgward.VerdictPublisher:
	default:
		return nil, errors.E(op, errors.Invalid, errors.Msg("kind must be instance, image or publisher"))
	}
	switch state {
	case "", imgward.VerdictOK, imgward.VerdictFlagged, imgward.VerdictCleared:
	default:
		return nil, errors.E(op, errors.Invalid, errors.Msg("state must be ok, flagged or cleared"))
	}
	var vs []imgward.Verdict
	err := s.store.View(ctx, func(tx imgward.Tx) error {
		var err error
		vs, err = tx.ListVerdicts(ctx, kind)
		return err
	})
	if err != nil {
		return nil, errors.E(op, err)
	}
	if state != "" {
		vs = slices.DeleteFunc(vs, func(v imgward.Verdict) bool { return v.State != state })
	}
	return vs, nil
}
