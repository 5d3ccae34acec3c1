//go:build pkcs11

package pkcs11

import (
	"context"

	"imgward"
	"imgward/errors"
	"imgward/kms"
)

// CreateKey implements imgward.KeyService.
func (s *KeyService) CreateKey(ctx context.Context, id imgward.KeyID) error {
	const op = "pkcs11.CreateKey"
	if err := checkKey(op, ctx, id); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, _, err := s.versions(op, id)
	switch {
	case err == nil:
		return errors.E(op, errors.Exist, errors.Msg("key exists"))
	case !errors.Is(errors.NotExist, err):
		return err
	}
	return s.generate(op, id, 1)
}

// Rotate implements imgward.KeyService.
func (s *KeyService) Rotate(ctx context.Context, id imgward.KeyID) (uint32, error) {
	const op = "pkcs11.Rotate"
	if err := checkKey(op, ctx, id); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, current, err := s.versions(op, id)
	if err != nil {
		return 0, err
	}
	next := current + 1
	if next == 0 {
		return 0, errors.E(op, errors.Conflict, errors.Msg("key versions exhausted"))
	}
	if err := s.generate(op, id, next); err != nil {
		return 0, err
	}
	return next, nil
}

// Retire implements imgward.KeyService. It destroys the version's object in
// the token.
func (s *KeyService) Retire(ctx context.Context, id imgward.KeyID, version uint32) error {
	const op = "pkcs11.Retire"
	if err := checkKey(op, ctx, id); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	vs, current, err := s.versions(op, id)
	switch {
	case err != nil:
		return err
	case vs[version] == nil:
		return errors.E(op, errors.NotExist, errors.Msg("no such key version"))
	case version == current:
		return errors.E(op, errors.Conflict, errors.Msg("cannot retire the current key version"))
	}
	if err := vs[version].Delete(); err != nil {
		return errors.E(op, hsmKind(err), err)
	}
	return nil
}

// GenerateDataKey implements imgward.KeyService.
func (s *KeyService) GenerateDataKey(ctx context.Context, id imgward.KeyID, ad []byte) ([]byte, imgward.WrappedKey, error) {
	const op = "pkcs11.GenerateDataKey"
	if err := checkKey(op, ctx, id); err != nil {
		return nil, imgward.WrappedKey{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	vs, current, err := s.versions(op, id)
	if err != nil {
		return nil, imgward.WrappedKey{}, err
	}
	dk := kms.NewDataKey()
	w, err := seal(op, vs[current], id, current, dk, ad)
	if err != nil {
		return nil, imgward.WrappedKey{}, err
	}
	return dk, w, nil
}

// Unwrap implements imgward.KeyService. It is a decryption oracle.
func (s *KeyService) Unwrap(ctx context.Context, w imgward.WrappedKey, ad []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.unwrap(ctx, w, ad)
}

func (s *KeyService) unwrap(ctx context.Context, w imgward.WrappedKey, ad []byte) ([]byte, error) {
	const op = "pkcs11.Unwrap"
	if err := kms.Check(w, ad); err != nil {
		return nil, errors.E(op, err)
	}
	if err := checkCtx(op, ctx); err != nil {
		return nil, err
	}
	k, err := s.find(op, w.KeyID, w.Version)
	if err != nil {
		return nil, err
	}
	aead, err := gcm(op, k)
	if err != nil {
		return nil, err
	}
	dk, err := kms.Open(aead, w, ad)
	if err != nil {
		return nil, errors.E(op, err)
	}
	return dk, nil
}

// Rewrap implements imgward.KeyService. The data key passes through this
// process's memory, between two operations of the token, and is cleared.
func (s *KeyService) Rewrap(ctx context.Context, w imgward.WrappedKey, ad []byte) (imgward.WrappedKey, error) {
	const op = "pkcs11.Rewrap"
	s.mu.Lock()
	defer s.mu.Unlock()
	dk, err := s.unwrap(ctx, w, ad)
	if err != nil {
		return imgward.WrappedKey{}, errors.E(op, err)
	}
	defer clear(dk)
	vs, current, err := s.versions(op, w.KeyID)
	if err != nil {
		return imgward.WrappedKey{}, err
	}
	return seal(op, vs[current], w.KeyID, current, dk, ad)
}
