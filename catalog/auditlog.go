package catalog

import (
	"context"

	"golang.org/x/mod/sumdb/tlog"

	"imgward"
	"imgward/audit"
	"imgward/errors"
)

// WithAuditSigner lets the catalog sign checkpoints of the audit log.
func WithAuditSigner(s *audit.Signer) Option { return func(c *Service) { c.signer = s } }

// integrateBatch is how many entries one IntegrateAudit transaction adds to
// the tree: enough to keep up with thousands of launches a second, few
// enough that the integrator's transaction stays short.
const integrateBatch = 4096

// IntegrateAudit adds every appended entry to the audit tree, in batches,
// and returns the tree's size. The server runs it periodically; the
// checkpoint and proofs run it first so that they cover every entry
// committed before the request.
func (s *Service) IntegrateAudit(ctx context.Context) (int64, error) {
	const op = "catalog.IntegrateAudit"
	var size int64
	for {
		var added int
		// Hot (imgward.HotUpdater): integrators keep apart by a lock of
		// their own, and appends go on meanwhile.
		err := imgward.UpdateHot(ctx, s.store, func(tx imgward.Tx) error {
			var err error
			size, added, err = tx.IntegrateAudit(ctx, integrateBatch)
			return err
		})
		if err != nil {
			return 0, errors.E(op, err)
		}
		if added < integrateBatch {
			return size, nil
		}
	}
}

// hashReader reads the audit tree's stored hashes in tx.
func hashReader(ctx context.Context, tx imgward.Tx) tlog.HashReader {
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		bs, err := tx.AuditHashes(ctx, indexes)
		if err != nil {
			return nil, err
		}
		hs := make([]tlog.Hash, len(bs))
		for i, b := range bs {
			copy(hs[i][:], b)
		}
		return hs, nil
	})
}

// AuditCheckpoint integrates pending entries and returns the signed
// checkpoint of the audit tree, a C2SP signed note (admin only).
func (s *Service) AuditCheckpoint(ctx context.Context, p imgward.Principal) ([]byte, error) {
	const op = "catalog.AuditCheckpoint"
	if err := s.requireAdmin(ctx, p, op, "audit.read", "audit"); err != nil {
		return nil, err
	}
	if s.signer == nil {
		return nil, errors.E(op, errors.Unavailable, errors.Msg("no audit signing key configured"))
	}
	if _, err := s.IntegrateAudit(ctx); err != nil {
		return nil, errors.E(op, err)
	}
	var c audit.Checkpoint
	err := s.store.View(ctx, func(tx imgward.Tx) error {
		n, err := tx.AuditTreeSize(ctx)
		if err != nil {
			return err
		}
		root, err := tlog.TreeHash(n, hashReader(ctx, tx))
		if err != nil {
			return errors.E(errors.Internal, err)
		}
		c = audit.Checkpoint{Origin: s.signer.Name(), Size: n, Root: root}
		return nil
	})
	if err != nil {
		return nil, errors.E(op, err)
	}
	b, err := audit.SignCheckpoint(ctx, s.signer, c)
	if err != nil {
		return nil, errors.E(op, err)
	}
	return b, nil
}

// AuditVerifierKey returns the note verifier key of the audit checkpoints
// (admin only): keep it outside the server, with the checkpoints.
func (s *Service) AuditVerifierKey(ctx context.Context, p imgward.Principal) (string, error) {
	const op = "catalog.AuditVerifierKey"
	if err := s.requireAdmin(ctx, p, op, "audit.read", "audit"); err != nil {
		return "", err
	}
	if s.signer == nil {
		return "", errors.E(op, errors.Unavailable, errors.Msg("no audit signing key configured"))
	}
	return s.signer.VerifierKey(), nil
}

// InclusionProof proves that an audit entry is a leaf of the tree of a
// given size.
type InclusionProof struct {
	Entry imgward.AuditEntry
	Size  int64
	Root  tlog.Hash
	Proof tlog.RecordProof
}

// AuditInclusion proves that entry seq is in the audit tree of size (0: the
// current tree) (admin only).
func (s *Service) AuditInclusion(ctx context.Context, p imgward.Principal, seq, size int64) (*InclusionProof, error) {
	const op = "catalog.AuditInclusion"
	if err := s.requireAdmin(ctx, p, op, "audit.read", "audit"); err != nil {
		return nil, err
	}
	if seq < 1 || size < 0 {
		return nil, errors.E(op, errors.Invalid, errors.Msg("seq must be 1 or more and size 0 or more"))
	}
	if _, err := s.IntegrateAudit(ctx); err != nil {
		return nil, errors.E(op, err)
	}
	var pr InclusionProof
	err := s.store.View(ctx, func(tx imgward.Tx) error {
		es, err := tx.ListAudit(ctx, seq-1, 1)
		if err != nil {
			return err
		}
		if len(es) == 0 || es[0].Seq != seq || es[0].Leaf == 0 {
			return errors.E(errors.NotExist, errors.Msg("no such audit entry"))
		}
		pr.Entry = es[0]
		n, err := tx.AuditTreeSize(ctx)
		if err != nil {
			return err
		}
		if size == 0 {
			size = n
		}
		if size > n {
			return errors.E(errors.Invalid, errors.Msg("size is larger than the tree"))
		}
		if pr.Entry.Leaf > size {
			return errors.E(errors.Invalid, errors.Msg("the entry is not in a tree of that size"))
		}
		r := hashReader(ctx, tx)
		if pr.Root, err = tlog.TreeHash(size, r); err != nil {
			return errors.E(errors.Internal, err)
		}
		if pr.Proof, err = tlog.ProveRecord(size, pr.Entry.Leaf-1, r); err != nil {
			return errors.E(errors.Internal, err)
		}
		pr.Size = size
		return nil
	})
	if err != nil {
		return nil, errors.E(op, err)
	}
	return &pr, nil
}

// ConsistencyProof proves that the tree of size From is a prefix of the
// tree of size To.
type ConsistencyProof struct {
	From, To         int64
	FromRoot, ToRoot tlog.Hash
	Proof            tlog.TreeProof
}

// AuditConsistency proves that the audit tree of size from is a prefix of
// the one of size to (0: the current tree) (admin only).
func (s *Service) AuditConsistency(ctx context.Context, p imgward.Principal, from, to int64) (*ConsistencyProof, error) {
	const op = "catalog.AuditConsistency"
	if err := s.requireAdmin(ctx, p, op, "audit.read", "audit"); err != nil {
		return nil, err
	}
	if from < 1 || to < 0 || (to != 0 && to < from) {
		return nil, errors.E(op, errors.Invalid, errors.Msg("from must be 1 or more, to 0 (the current tree) or from or more"))
	}
	if _, err := s.IntegrateAudit(ctx); err != nil {
		return nil, errors.E(op, err)
	}
	pr := ConsistencyProof{From: from, To: to}
	err := s.store.View(ctx, func(tx imgward.Tx) error {
		n, err := tx.AuditTreeSize(ctx)
		if err != nil {
			return err
		}
		if pr.To == 0 {
			pr.To = n
		}
		if pr.To > n || from > pr.To {
			return errors.E(errors.Invalid, errors.Msg("size is larger than the tree"))
		}
		r := hashReader(ctx, tx)
		if pr.FromRoot, err = tlog.TreeHash(from, r); err != nil {
			return errors.E(errors.Internal, err)
		}
		if pr.ToRoot, err = tlog.TreeHash(pr.To, r); err != nil {
			return errors.E(errors.Internal, err)
		}
		if pr.Proof, err = tlog.ProveTree(pr.To, from, r); err != nil {
			return errors.E(errors.Internal, err)
		}
		return nil
	})
	if err != nil {
		return nil, errors.E(op, err)
	}
	return &pr, nil
}
