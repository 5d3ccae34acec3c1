package server

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"imgward"
	"imgward/errors"
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
	// DerivedThreshold is the share of a protected image's content above
	// which another owner's upload is flagged; default 0.5.
	DerivedThreshold float64
}

// kmsOpener opens a KeyService.
type kmsOpener func(ctx context.Context, cfg Config) (imgward.KeyService, error)

// KeyServices are the KMS backends, by the name --kms takes. The pkcs11
// backend registers itself in kms_pkcs11.go, built only with the pkcs11 tag,
// so that the default build stays pure Go.
var KeyServices = map[string]kmsOpener{
	"local": func(ctx context.Context, cfg Config) (imgward.KeyService, error) {
		return local.Open(filepath.Join(cfg.DataDir, "master.keys"))
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

// openKeys opens the KMS of cfg and makes sure its master key exists.
func openKeys(ctx context.Context, cfg Config) (imgward.KeyService, error) {
	name := cfg.Protection.KMS
	if name == "" {
		name = "local"
	}
	open, ok := KeyServices[name]
	if !ok {
		return nil, errors.E(errors.Invalid, errors.Msg(fmt.Sprintf("unknown kms %q: choose %s (pkcs11 needs a build with -tags pkcs11)",
			name, strings.Join(KeyServiceNames(), " or "))))
	}
	ks, err := open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := ks.CreateKey(ctx, cfg.Protection.KeyID); err != nil && !errors.Is(errors.Exist, err) {
		ks.Close()
		return nil, err
	}
	return ks, nil
}
