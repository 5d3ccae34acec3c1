package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// What nodes sharing one PostgreSQL database share, and how (see
// docs/ARCHITECTURE.md, "Several nodes"):
//
//   - the store: every record, the audit log, the nonces of identity
//     documents, leases;
//   - the blob directory (--blob-dir on shared storage), each node writing
//     its temporary files under tmp/<node>;
//   - master keys: an HSM (--kms pkcs11), or with --kms local the ring in the
//     store wrapped by a key-encryption key file every node is given
//     (--kms-kek-file);
//   - the identity signing keys, in the store, wrapped by that KMS, when the
//     KMS is shared.
//
// A node's data directory then keeps only what is its own: admin.token if it
// created the first admin (the token is valid on every node), and on its
// first start a former single node's master.keys, which it imports into the
// shared ring.

// defaultNode names a node by its host and its data directory, which are
// stable across restarts and differ between nodes on one host.
func defaultNode(dataDir string) string {
	host, _ := os.Hostname()
	host = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, host)
	if len(host) > 64 {
		host = host[:64]
	}
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		abs = dataDir
	}
	sum := sha256.Sum256([]byte(abs))
	return host + "-" + hex.EncodeToString(sum[:4])
}

// recoverLoop returns to queued, every period, the uploads whose node
// stopped renewing their lease, and sweeps the blobs such a node left,
// until ctx ends.
func (s *Service) recoverLoop(ctx context.Context, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n, err := s.Catalog.RecoverUploads(ctx)
			if err != nil && ctx.Err() == nil {
				log.Warn("upload recovery failed", "err", err)
			} else if n > 0 {
				log.Warn("uploads of a node that stopped reset to queued", "images", n)
			}
			if n, err := s.Catalog.SweepBlobs(ctx, false); err != nil && ctx.Err() == nil {
				log.Warn("stale blobs not swept", "err", err)
			} else if n > 0 {
				log.Warn("stale blobs of a cut job removed", "blobs", n)
			}
		}
	}
}
