package catalog

import (
	"context"
	"strings"

	"imgward"
	"imgward/errors"
)

// A launch authenticated in its own transaction.
//
// On PostgreSQL a round trip costs the node and the server more processor
// time than most statements of a launch (docs/BENCHMARKS.md), and the
// token check before a request is one of its own. LaunchWithToken reads
// the token, its user, the image and the user's project's membership in
// one statement (Tx.TokenImageMember), the first of the launch's write,
// which goes with its begin: a launch is then two round trips, the begin
// with that read, and the inserts with the COMMIT.
//
// Authentication stays exactly Authenticate's: only a launch that the
// read finds everything for, and whose token is accepted, goes on in the
// transaction. Anything else (no such token or image, a token refused,
// a token that is not imgward's, a malformed request) rolls back what it
// read and goes the ordinary way, Authenticate then Launch, which gives
// the same answers and writes the same audit entries (a known token
// refused is audited in a write of its own, as always). The read runs
// under the write lock at READ COMMITTED, so it sees a revocation or a
// disabled user committed on any node before it.

// errOrdinary says that a launch must go the ordinary way.
var errOrdinary = errors.New("catalog: launch goes the ordinary way")

// LaunchWithToken is Authenticate(token), then allow, which may refuse
// the caller before any rule of the launch (the API's role rules), then
// Launch: the same answers, in one transaction where the store gains by
// it (an imgward.HotUpdater, whose round trips cost; see above).
func (s *Service) LaunchWithToken(ctx context.Context, token string, allow func(imgward.Principal) error, id imgward.ImageID, host string) (*imgward.Instance, error) {
	const op = "catalog.Launch"
	_, hot := s.store.(imgward.HotUpdater)
	if !hot || !strings.HasPrefix(token, TokenPrefix) || len(token) > maxTokenLen ||
		!validUUID(string(id)) || checkHost(op, host) != nil {
		return s.launchOrdinary(ctx, token, allow, id, host)
	}
	h := HashToken(token)
	in := s.newInstance(id, host)
	var p imgward.Principal
	err := imgward.UpdateHot(ctx, s.store, func(tx imgward.Tx) error {
		u, k, img, m, err := tx.TokenImageMember(ctx, h, id)
		if errors.Is(errors.NotExist, err) {
			return errOrdinary
		} else if err != nil {
			return errors.E("catalog.Authenticate", err)
		}
		var why string
		var ok bool
		if p, why, ok = tokenPrincipal(u, k, h, s.stamp()); !ok || why != "" {
			return errOrdinary
		}
		if err := allow(p); err != nil {
			return err
		}
		return s.launchIn(ctx, tx, p, img, m, in)
	})
	if errors.IsErr(err, errOrdinary) {
		return s.launchOrdinary(ctx, token, allow, id, host)
	}
	if err != nil {
		return nil, s.finish(ctx, p, errors.E(op, err))
	}
	return in, nil
}

// launchOrdinary is LaunchWithToken as three calls.
func (s *Service) launchOrdinary(ctx context.Context, token string, allow func(imgward.Principal) error, id imgward.ImageID, host string) (*imgward.Instance, error) {
	p, err := s.Authenticate(ctx, token)
	if err != nil {
		return nil, err
	}
	if err := allow(p); err != nil {
		return nil, err
	}
	return s.Launch(ctx, p, id, host)
}
