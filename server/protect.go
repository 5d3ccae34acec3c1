package server

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"imgward"
	"imgward/errors"
	"imgward/identity"
	"imgward/kms/local"
)

// Protection is the configuration of image protection: the KMS that wraps
// the images' data keys, and the rules of derived-image detection.
type Protection struct {
	KMS   string        // a name in KeyServices; default "local"
	KeyID imgward.KeyID // the master key of image data keys; default catalog.DefaultKeyID
	// PKCS11Module, PKCS11Token and PKCS11PIN choose the HSM token of the
	// pkcs11 KMS. PKCS11PIN is a source, "env:NAME" or "file:PATH", never
	// the PIN itself, so that it stays off command lines.
	PKCS11Module, PKCS11Token, PKCS11PIN string
	// KEKFile, for the local KMS, keeps the master key ring in the store,
	// wrapped by the key-encryption key in this file, so that every node
	// given the same file shares it (kms/local.Shared). A former single
	// node's DataDir/master.keys is imported into it at start. Without it
	// the ring is DataDir/master.keys, this node's alone.
	KEKFile string
	// Refresh is how long a node trusts its copy of a shared key ring
	// (master or identity); default 10s.
	Refresh time.Duration
	// DerivedThreshold is the share of a protected image's content above
	// which another owner's upload is flagged; default 0.5.
	DerivedThreshold float64
}

// kmsOpener opens a KeyService; st is the opened store, for a KMS that
// keeps its keys there.
type kmsOpener func(ctx context.Context, cfg Config, st imgward.Store) (imgward.KeyService, error)

// KeyServices are the KMS backends, by the name --kms takes. The pkcs11
// backend registers itself in kms_pkcs11.go, built only with the pkcs11 tag,
// so that the default build stays pure Go.
var KeyServices = map[string]kmsOpener{
	"local": func(ctx context.Context, cfg Config, st imgward.Store) (imgward.KeyService, error) {
		file := filepath.Join(cfg.DataDir, "master.keys")
		if cfg.Protection.KEKFile == "" {
			return local.Open(file)
		}
		kek, err := local.ReadKEK(cfg.Protection.KEKFile)
		if err != nil {
			return nil, err
		}
		ks, err := local.OpenShared(st, kek, cfg.Protection.Refresh)
		if err != nil {
			return nil, err
		}
		n, err := ks.ImportFile(ctx, file)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			cfg.Logger.Warn("master key file imported into the shared ring", "file", file, "versions", n, "moved_to", file+".imported")
		}
		return ks, nil
	},
}

// KeyServiceNames lists the KMS backends of this build.
func KeyServiceNames() []string {
	var ns []string
	for n := range KeyServices {
		ns = append(ns, n)
	}
	slices.Sort(ns)
	return ns
}

// sharedKMS reports whether cfg is a node of a cluster whose nodes hold the
// same master keys: on a database that nodes share, an HSM or the local
// ring kept in that database. A single node on SQLite keeps its identity
// key file even with an HSM.
func sharedKMS(cfg Config) bool {
	return cfg.Store != "sqlite" && (cfg.Protection.KMS == "pkcs11" || cfg.Protection.KEKFile != "")
}

// openKeys opens the KMS of cfg, makes sure its master key exists, and
// opens the identity key ring: in the store, wrapped by the KMS, when the
// KMS is shared by the nodes of a database; else in DataDir/identity.
func openKeys(ctx context.Context, cfg Config, st imgward.Store) (imgward.KeyService, *identity.Issuer, error) {
	name := cfg.Protection.KMS
	if name == "" {
		name = "local"
	}
	open, ok := KeyServices[name]
	if !ok {
		return nil, nil, errors.E(errors.Invalid, errors.Msg(fmt.Sprintf("unknown kms %q: choose %s (pkcs11 needs a build with -tags pkcs11)",
			name, strings.Join(KeyServiceNames(), " or "))))
	}
	ks, err := open(ctx, cfg, st)
	if err != nil {
		return nil, nil, err
	}
	if err := ks.CreateKey(ctx, cfg.Protection.KeyID); err != nil && !errors.Is(errors.Exist, err) {
		ks.Close()
		return nil, nil, err
	}
	var issuer *identity.Issuer
	if sharedKMS(cfg) {
		issuer, err = identity.OpenSharedIssuer(ctx, st, ks, cfg.Protection.KeyID, 0, cfg.Protection.Refresh)
	} else {
		if cfg.Store != "sqlite" {
			cfg.Logger.Warn("master and identity keys are this node's own: other nodes on this database cannot open its images or verify its identity documents; give every node --kms-kek-file or --kms pkcs11")
		}
		issuer, err = identity.OpenIssuer(filepath.Join(cfg.DataDir, "identity"), 0)
	}
	if err != nil {
		ks.Close()
		return nil, nil, err
	}
	return ks, issuer, nil
}
