// Package local is a KeyService whose master keys live in a file on the
// local disk, mode 0600, and wrap with AES-256-GCM in this process. It is the
// embedded default: no HSM, but the master keys are only as safe as the
// file. One process owns a key file at a time.
package local

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/sha256"
	"maps"
	"sync"
	"sync/atomic"

	"imgward"
	"imgward/errors"
	"imgward/kms"
)

var _ imgward.KeyService = (*KeyService)(nil)

// KeyService keeps master keys in a key file. Its methods are safe for
// concurrent use.
type KeyService struct {
	path  string
	mu    sync.Mutex           // serializes changes of the ring and its file
	state atomic.Pointer[ring] // the current ring; never modified, only replaced
}

// ring maps each key id to its master key. A ring is immutable once stored
// in KeyService.state: a change builds a new ring.
type ring map[imgward.KeyID]*master

// master is a master key: its versions and the current one. Immutable.
type master struct {
	current  uint32
	versions map[uint32]*keyVersion
}

// keyVersion is one version of a master key.
type keyVersion struct {
	key  []byte // AES-256 key; never leaves this package
	aead cipher.AEAD
	sign ed25519.PrivateKey // derived from key; never leaves this package
}

// signInfo separates the signing key derived from a master key from any
// other use of it.
const signInfo = "imgward-kms-sign-v1"

func newVersion(key []byte) (*keyVersion, error) {
	if len(key) != 32 {
		return nil, errors.Errorf("master key of %d bytes, want 32", len(key))
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(b)
	if err != nil {
		return nil, err
	}
	// The signing key is derived, not stored, so that the key file keeps
	// its format and a master key version brings its signing key with it.
	seed, err := hkdf.Key(sha256.New, key, nil, signInfo, ed25519.SeedSize)
	if err != nil {
		return nil, err
	}
	return &keyVersion{key: key, aead: aead, sign: ed25519.NewKeyFromSeed(seed)}, nil
}

// Open opens the key file at path, creating an empty one, mode 0600, if
// there is none. It refuses a file that group or others may access.
func Open(path string) (*KeyService, error) {
	const op = "local.Open"
	r, err := load(path)
	if errors.Is(errors.NotExist, err) {
		if err = create(path); err == nil || errors.Is(errors.Exist, err) {
			r, err = load(path)
		}
	}
	if err != nil {
		return nil, errors.E(op, err)
	}
	s := &KeyService{path: path}
	s.state.Store(&r)
	return s, nil
}

// Close does nothing: the file is closed between changes.
func (s *KeyService) Close() error { return nil }

// CreateKey implements imgward.KeyService.
func (s *KeyService) CreateKey(ctx context.Context, id imgward.KeyID) error {
	const op = "local.CreateKey"
	if err := kms.CheckID(op, id); err != nil {
		return err
	}
	return s.change(ctx, op, func(r ring) error {
		if r[id] != nil {
			return errors.E(errors.Exist, errors.Msg("key exists"))
		}
		v, err := newVersion(kms.NewDataKey())
		if err != nil {
			return errors.E(errors.Internal, err)
		}
		r[id] = &master{current: 1, versions: map[uint32]*keyVersion{1: v}}
		return nil
	})
}

// Rotate implements imgward.KeyService.
func (s *KeyService) Rotate(ctx context.Context, id imgward.KeyID) (uint32, error) {
	const op = "local.Rotate"
	var next uint32
	err := s.change(ctx, op, func(r ring) error {
		m := r[id]
		if m == nil {
			return errors.E(errors.NotExist, errors.Msg("no such key"))
		}
		next = m.current + 1
		if next == 0 {
			return errors.E(errors.Conflict, errors.Msg("key versions exhausted"))
		}
		v, err := newVersion(kms.NewDataKey())
		if err != nil {
			return errors.E(errors.Internal, err)
		}
		vs := maps.Clone(m.versions)
		vs[next] = v
		r[id] = &master{current: next, versions: vs}
		return nil
	})
	return next, err
}

// Retire implements imgward.KeyService.
func (s *KeyService) Retire(ctx context.Context, id imgward.KeyID, version uint32) error {
	const op = "local.Retire"
	return s.change(ctx, op, func(r ring) error {
		m := r[id]
		switch {
		case m == nil || m.versions[version] == nil:
			return errors.E(errors.NotExist, errors.Msg("no such key version"))
		case version == m.current:
			return errors.E(errors.Conflict, errors.Msg("cannot retire the current key version"))
		}
		vs := maps.Clone(m.versions)
		delete(vs, version)
		r[id] = &master{current: m.current, versions: vs}
		return nil
	})
}

// change applies fn to a copy of the ring, saves the copy and makes it
// current. fn may replace entries of the copy but must not modify them.
func (s *KeyService) change(ctx context.Context, op string, fn func(ring) error) error {
	if err := ctx.Err(); err != nil {
		return errors.E(op, errors.Unavailable, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := maps.Clone(*s.state.Load())
	if err := fn(r); err != nil {
		return errors.E(op, err)
	}
	if err := save(s.path, r); err != nil {
		return errors.E(op, err)
	}
	s.state.Store(&r)
	return nil
}

// GenerateDataKey implements imgward.KeyService.
func (s *KeyService) GenerateDataKey(ctx context.Context, id imgward.KeyID, ad []byte) ([]byte, imgward.WrappedKey, error) {
	return finder(s.lookup).generate(ctx, id, ad)
}

// Unwrap implements imgward.KeyService. It is a decryption oracle.
func (s *KeyService) Unwrap(ctx context.Context, w imgward.WrappedKey, ad []byte) ([]byte, error) {
	return finder(s.lookup).unwrap(ctx, w, ad)
}

// Rewrap implements imgward.KeyService.
func (s *KeyService) Rewrap(ctx context.Context, w imgward.WrappedKey, ad []byte) (imgward.WrappedKey, error) {
	return finder(s.lookup).rewrap(ctx, w, ad)
}

// PublicKey implements imgward.KeyService: the public key of the signing
// key derived from the current version of master key id.
func (s *KeyService) PublicKey(ctx context.Context, id imgward.KeyID) (ed25519.PublicKey, error) {
	return finder(s.lookup).publicKey(ctx, id)
}

// Sign implements imgward.KeyService with the signing key derived from the
// current version of master key id.
func (s *KeyService) Sign(ctx context.Context, id imgward.KeyID, msg []byte) ([]byte, error) {
	return finder(s.lookup).sign(ctx, id, msg)
}

// lookup finds the given version of key id, or its current version when
// version is 0, and returns it with its number. The file is this
// process's own, so its copy is always fresh.
func (s *KeyService) lookup(ctx context.Context, op string, id imgward.KeyID, version uint32, _ bool) (*keyVersion, uint32, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, errors.E(op, errors.Unavailable, err)
	}
	if err := kms.CheckID(op, id); err != nil {
		return nil, 0, err
	}
	m := (*s.state.Load())[id]
	if m == nil {
		return nil, 0, errors.E(op, errors.NotExist, errors.Msg("no such key"))
	}
	if version == 0 {
		version = m.current
	}
	v := m.versions[version]
	if v == nil {
		return nil, 0, errors.E(op, errors.NotExist, errors.Msg("no such key version"))
	}
	return v, version, nil
}
