package server

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"imgward"
	"imgward/audit"
	"imgward/errors"
)

// Audit configures the audit log's tree and checkpoints.
type Audit struct {
	// KeyID is the KMS key that signs checkpoints; default AuditKeyID.
	KeyID imgward.KeyID
	// Origin names the log in its checkpoints; default audit.DefaultOrigin.
	// Nodes of one cluster share it.
	Origin string
	// IntegrateEvery is how often pending entries join the tree; default
	// DefaultIntegrateEvery. Checkpoints and proofs integrate first anyway.
	IntegrateEvery time.Duration
	// CheckpointDir, if set, receives a signed checkpoint every
	// CheckpointEvery (default DefaultCheckpointEvery). It must be outside
	// the data directory: a checkpoint is only worth what its copy outside
	// the attacker's reach is.
	CheckpointDir   string
	CheckpointEvery time.Duration
}

// The audit defaults.
const (
	AuditKeyID             = imgward.KeyID("imgward-audit")
	DefaultIntegrateEvery  = time.Second
	DefaultCheckpointEvery = time.Hour
)

// auditSigner makes sure the signing key exists and returns the signer of
// checkpoints.
func auditSigner(ctx context.Context, cfg *Config, keys imgward.KeyService) (*audit.Signer, error) {
	a := &cfg.Audit
	if a.KeyID == "" {
		a.KeyID = AuditKeyID
	}
	if a.Origin == "" {
		a.Origin = audit.DefaultOrigin
	}
	if a.IntegrateEvery <= 0 {
		a.IntegrateEvery = DefaultIntegrateEvery
	}
	if a.CheckpointDir != "" {
		if a.CheckpointEvery <= 0 {
			a.CheckpointEvery = DefaultCheckpointEvery
		}
		dir, err1 := filepath.Abs(a.CheckpointDir)
		data, err2 := filepath.Abs(cfg.DataDir)
		if err1 != nil || err2 != nil {
			return nil, errors.E(errors.Invalid, errors.Msg("cannot resolve the checkpoint directory"))
		}
		if rel, err := filepath.Rel(data, dir); err == nil && !strings.HasPrefix(rel, "..") {
			return nil, errors.E(errors.Invalid, errors.Msg("the checkpoint directory must be outside the data directory"))
		}
	}
	if err := keys.CreateKey(ctx, a.KeyID); err != nil && !errors.Is(errors.Exist, err) {
		return nil, err
	}
	return audit.NewSigner(context.Background(), keys, a.KeyID, a.Origin)
}

// saveCheckpoint appends a signed checkpoint to the checkpoint directory.
func (s *Service) saveCheckpoint(ctx context.Context, a Audit, signer *audit.Signer) (string, error) {
	b, err := s.Catalog.AuditCheckpoint(ctx, imgward.Principal{Role: imgward.RoleAdmin})
	if err != nil {
		return "", err
	}
	return audit.SaveCheckpoint(a.CheckpointDir, b, signer.VerifierKey())
}

// auditLoop integrates the audit log every IntegrateEvery and, with a
// checkpoint directory, appends a checkpoint to it every CheckpointEvery,
// until ctx ends. (Open saves the first checkpoint, so that a directory
// that cannot take one stops the start.)
func (s *Service) auditLoop(ctx context.Context, a Audit, signer *audit.Signer, log *slog.Logger) {
	save := func() {
		p, err := s.saveCheckpoint(ctx, a, signer)
		switch {
		case err == nil:
			log.Info("audit checkpoint saved", "path", p)
		case ctx.Err() == nil:
			log.Error("audit checkpoint failed", "err", err)
		}
	}
	integrate := time.NewTicker(a.IntegrateEvery)
	defer integrate.Stop()
	var checkpoint <-chan time.Time
	if a.CheckpointDir != "" {
		t := time.NewTicker(a.CheckpointEvery)
		defer t.Stop()
		checkpoint = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-integrate.C:
			if _, err := s.Catalog.IntegrateAudit(ctx); err != nil && ctx.Err() == nil {
				log.Error("audit integration failed", "err", err)
			}
		case <-checkpoint:
			save()
		}
	}
}
