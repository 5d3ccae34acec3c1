package local

import (
	"context"
	"crypto/ed25519"

	"imgward"
	"imgward/errors"
	"imgward/kms"
)

// finder looks up a version of a master key (0: the current one) and
// returns it with its number; fresh asks for the newest copy of the ring
// where copies can be stale (Shared). The operations on data keys are the
// same over any finder.
type finder func(ctx context.Context, op string, id imgward.KeyID, version uint32, fresh bool) (*keyVersion, uint32, error)

func (f finder) generate(ctx context.Context, id imgward.KeyID, ad []byte) ([]byte, imgward.WrappedKey, error) {
	const op = "local.GenerateDataKey"
	v, n, err := f(ctx, op, id, 0, true)
	if err != nil {
		return nil, imgward.WrappedKey{}, err
	}
	dk := kms.NewDataKey()
	w, err := kms.Seal(v.aead, id, n, dk, ad)
	if err != nil {
		return nil, imgward.WrappedKey{}, errors.E(op, err)
	}
	return dk, w, nil
}

func (f finder) unwrap(ctx context.Context, w imgward.WrappedKey, ad []byte) ([]byte, error) {
	const op = "local.Unwrap"
	if err := kms.Check(w, ad); err != nil {
		return nil, errors.E(op, err)
	}
	v, _, err := f(ctx, op, w.KeyID, w.Version, false)
	if err != nil {
		return nil, err
	}
	dk, err := kms.Open(v.aead, w, ad)
	if err != nil {
		return nil, errors.E(op, err)
	}
	return dk, nil
}

func (f finder) rewrap(ctx context.Context, w imgward.WrappedKey, ad []byte) (imgward.WrappedKey, error) {
	const op = "local.Rewrap"
	dk, err := f.unwrap(ctx, w, ad)
	if err != nil {
		return imgward.WrappedKey{}, errors.E(op, err)
	}
	defer clear(dk)
	v, n, err := f(ctx, op, w.KeyID, 0, true)
	if err != nil {
		return imgward.WrappedKey{}, err
	}
	nw, err := kms.Seal(v.aead, w.KeyID, n, dk, ad)
	if err != nil {
		return imgward.WrappedKey{}, errors.E(op, err)
	}
	return nw, nil
}

func (f finder) publicKey(ctx context.Context, id imgward.KeyID) (ed25519.PublicKey, error) {
	v, _, err := f(ctx, "local.PublicKey", id, 0, false)
	if err != nil {
		return nil, err
	}
	return v.sign.Public().(ed25519.PublicKey), nil
}

func (f finder) sign(ctx context.Context, id imgward.KeyID, msg []byte) ([]byte, error) {
	const op = "local.Sign"
	if len(msg) > imgward.MaxSignSize {
		return nil, errors.E(op, errors.TooLarge, errors.Msg("message too large to sign"))
	}
	v, _, err := f(ctx, op, id, 0, false)
	if err != nil {
		return nil, err
	}
	return ed25519.Sign(v.sign, msg), nil
}
