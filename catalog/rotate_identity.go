package catalog

import (
	"context"

	"imgward"
	"imgward/errors"
)

// The identity signing key of a cluster is kept in the store with its seed
// wrapped by the image key's master key (identity.OpenSharedIssuer). A
// rotation of that master key moves the seed too, and a retirement waits
// for it, or the cluster would lose the key it signs with.

// identitySeedsBehind lists the stored identity keys whose seed is wrapped
// under the image key before version.
func (s *Service) identitySeedsBehind(ctx context.Context, version uint32) ([]imgward.IdentityKey, error) {
	var behind []imgward.IdentityKey
	err := s.store.View(ctx, func(tx imgward.Tx) error {
		ks, err := tx.IdentityKeys(ctx)
		for _, k := range ks {
			if k.Seed.KeyID == s.prot.keyID && len(k.Seed.Ciphertext) > 0 && k.Seed.Version < version {
				behind = append(behind, k)
			}
		}
		return err
	})
	return behind, err
}

// rewrapIdentity moves the wrapped identity seeds to version, each stored
// only if no rotation of the identity key replaced it meanwhile.
func (s *Service) rewrapIdentity(ctx context.Context, version uint32) (int, error) {
	behind, err := s.identitySeedsBehind(ctx, version)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, k := range behind {
		w, err := s.prot.keys.Rewrap(ctx, k.Seed, []byte(imgward.IdentitySeedAD))
		if err != nil {
			return n, errors.E(kmsKind(err), errors.Msg("cannot re-wrap identity key "+k.KID), err)
		}
		err = s.store.Update(ctx, func(tx imgward.Tx) error {
			ks, err := tx.IdentityKeys(ctx)
			if err != nil {
				return err
			}
			for _, cur := range ks {
				if cur.KID == k.KID && sameWrap(cur.Seed, k.Seed) {
					cur.Seed = w
					return tx.PutIdentityKey(ctx, &cur)
				}
			}
			return nil
		})
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
