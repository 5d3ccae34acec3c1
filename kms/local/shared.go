package local

import (
	"bytes"
	"context"
	"crypto/cipher"
	"crypto/ed25519"
	"encoding/base64"
	"maps"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"imgward"
	"imgward/errors"
	"imgward/internal/securefile"
	"imgward/kms"
)

var _ imgward.KeyService = (*Shared)(nil)

// ringAD is the additional data of a master key version wrapped by the
// key-encryption key, so that such a wrap can never pass for an image key's.
var ringAD = []byte("imgward-master-key-ring-v1")

// DefaultRefresh is how long a node trusts its copy of the shared ring
// before it reads the ring again: a version retired on another node is
// gone from this one's memory within it.
const DefaultRefresh = 10 * time.Second

// missReload bounds how often a wrap under a version this node does not
// know makes it read the ring again.
const missReload = 100 * time.Millisecond

// Shared is a KeyService whose master keys live in a Store that several
// nodes share (table master_keys), each version wrapped by a key-encryption
// key (KEK) that every node reads from its own file. The database alone
// does not open an image: it holds only wrapped versions. Every change is
// one store transaction, so a version is created or destroyed once for the
// whole cluster; on PostgreSQL those transactions are serialized across
// nodes. Each node caches the ring and reads it again when a wrap names a
// version it does not know, when its copy is older than the refresh period,
// and before every GenerateDataKey, so that it never wraps under a version
// another node has retired.
type Shared struct {
	st      imgward.Store
	kek     cipher.AEAD
	refresh time.Duration
	mu      sync.Mutex // serializes reads of the ring from the store
	state   atomic.Pointer[sharedRing]
}

// sharedRing is a node's copy of the ring: per key id, the master key and
// when it was read. Immutable once stored.
type sharedRing map[imgward.KeyID]sharedKey

type sharedKey struct {
	m    *master // nil: no such key in the store
	read time.Time
}

// ReadKEK reads a key-encryption key file: 32 bytes in base64 (a line of
// `head -c 32 /dev/urandom | base64`) or raw. Like the key file, it must be
// a regular file that group and others cannot access.
func ReadKEK(path string) ([]byte, error) {
	const op = "local.ReadKEK"
	data, err := securefile.Read(path, 4096)
	if err != nil {
		return nil, errors.E(op, err)
	}
	if len(data) == 32 {
		return data, nil
	}
	k, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(data)))
	if err != nil || len(k) != 32 {
		return nil, errors.E(op, errors.Invalid, errors.Msg("the KEK file "+path+" must hold 32 bytes, raw or in base64"))
	}
	return k, nil
}

// OpenShared opens the ring kept in st, wrapped by kek (32 bytes). refresh
// is how long a copy of the ring is trusted; 0 takes DefaultRefresh.
func OpenShared(st imgward.Store, kek []byte, refresh time.Duration) (*Shared, error) {
	const op = "local.OpenShared"
	v, err := newVersion(kek)
	if err != nil {
		return nil, errors.E(op, errors.Invalid, errors.Msg("bad key-encryption key"), err)
	}
	if refresh <= 0 {
		refresh = DefaultRefresh
	}
	s := &Shared{st: st, kek: v.aead, refresh: refresh}
	s.state.Store(&sharedRing{})
	return s, nil
}

// Close does nothing: the store belongs to the caller.
func (s *Shared) Close() error { return nil }

// wrapVersion wraps a version's key with the KEK.
func (s *Shared) wrapVersion(id imgward.KeyID, version uint32, key []byte) ([]byte, error) {
	w, err := kms.Seal(s.kek, id, version, key, ringAD)
	return w.Ciphertext, err
}

// decodeMaster opens the stored versions of a key with the KEK.
func (s *Shared) decodeMaster(vs []imgward.MasterKeyVersion) (*master, error) {
	if len(vs) == 0 {
		return nil, nil
	}
	m := &master{versions: make(map[uint32]*keyVersion, len(vs))}
	for _, sv := range vs {
		key, err := kms.Open(s.kek, imgward.WrappedKey{KeyID: sv.KeyID, Version: sv.Version, Ciphertext: sv.Wrapped}, ringAD)
		if err != nil {
			return nil, errors.E(errors.Internal, errors.Msg("a master key version of the store does not open with this node's KEK"), err)
		}
		v, err := newVersion(key)
		if err != nil {
			return nil, errors.E(errors.Internal, err)
		}
		m.versions[sv.Version] = v
		m.current = max(m.current, sv.Version)
	}
	return m, nil
}

// reload reads key id from the store unless a copy read after seen (its
// read began after seen) is there, and returns the copy.
func (s *Shared) reload(ctx context.Context, id imgward.KeyID, seen time.Time) (sharedKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k, ok := (*s.state.Load())[id]; ok && k.read.After(seen) {
		return k, nil
	}
	read := time.Now()
	var vs []imgward.MasterKeyVersion
	err := s.st.View(ctx, func(tx imgward.Tx) (err error) {
		vs, err = tx.MasterKeyVersions(ctx, id)
		return err
	})
	if err != nil {
		return sharedKey{}, errors.E(errors.Unavailable, err)
	}
	m, err := s.decodeMaster(vs)
	if err != nil {
		return sharedKey{}, err
	}
	k := sharedKey{m: m, read: read}
	r := maps.Clone(*s.state.Load())
	r[id] = k
	s.state.Store(&r)
	return k, nil
}

// lookup finds version of key id (0: the current one), reading the ring
// again when fresh is set, when this node's copy is stale, or when it lacks
// the version.
func (s *Shared) lookup(ctx context.Context, op string, id imgward.KeyID, version uint32, fresh bool) (*keyVersion, uint32, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, errors.E(op, errors.Unavailable, err)
	}
	if err := kms.CheckID(op, id); err != nil {
		return nil, 0, err
	}
	start := time.Now()
	k, ok := (*s.state.Load())[id]
	if !ok || fresh || time.Since(k.read) > s.refresh || k.missing(version) {
		// A fresh copy must have been read after this call began: one read
		// before may miss a version committed just before the call.
		seen := k.read
		if fresh {
			seen = start
		}
		var err error
		if k, err = s.reload(ctx, id, seen); err != nil {
			return nil, 0, errors.E(op, err)
		}
	}
	if k.m == nil {
		return nil, 0, errors.E(op, errors.NotExist, errors.Msg("no such key"))
	}
	if version == 0 {
		version = k.m.current
	}
	v := k.find(version)
	if v == nil {
		return nil, 0, errors.E(op, errors.NotExist, errors.Msg("no such key version"))
	}
	return v, version, nil
}

// missing reports whether this copy lacks version and the ring should be
// read again: always for a version past the current one, which another node
// may just have made; at most every missReload for an older one, which was
// retired, so that wraps under retired versions cannot make a node read the
// ring for every request.
func (k sharedKey) missing(version uint32) bool {
	if k.find(version) != nil {
		return false
	}
	return k.m == nil || version > k.m.current || time.Since(k.read) > missReload
}

func (k sharedKey) find(version uint32) *keyVersion {
	if k.m == nil {
		return nil
	}
	if version == 0 {
		version = k.m.current
	}
	return k.m.versions[version]
}

// change runs fn on the stored versions of key id in one store transaction,
// then forgets this node's copy of the key, so that the next use reads it.
func (s *Shared) change(ctx context.Context, op string, id imgward.KeyID, fn func(tx imgward.Tx, vs []imgward.MasterKeyVersion) error) error {
	if err := kms.CheckID(op, id); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return errors.E(op, errors.Unavailable, err)
	}
	err := s.st.Update(ctx, func(tx imgward.Tx) error {
		vs, err := tx.MasterKeyVersions(ctx, id)
		if err != nil {
			return err
		}
		return fn(tx, vs)
	})
	s.forget(id)
	if err != nil {
		return errors.E(op, err)
	}
	return nil
}

func (s *Shared) forget(id imgward.KeyID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := maps.Clone(*s.state.Load())
	delete(r, id)
	s.state.Store(&r)
}

// addVersion records a new random version of key id.
func (s *Shared) addVersion(ctx context.Context, tx imgward.Tx, id imgward.KeyID, version uint32) error {
	w, err := s.wrapVersion(id, version, kms.NewDataKey())
	if err != nil {
		return err
	}
	return tx.CreateMasterKeyVersion(ctx, &imgward.MasterKeyVersion{KeyID: id, Version: version, Wrapped: w, CreatedAt: time.Now()})
}

// CreateKey implements imgward.KeyService.
func (s *Shared) CreateKey(ctx context.Context, id imgward.KeyID) error {
	return s.change(ctx, "local.CreateKey", id, func(tx imgward.Tx, vs []imgward.MasterKeyVersion) error {
		if len(vs) > 0 {
			return errors.E(errors.Exist, errors.Msg("key exists"))
		}
		return s.addVersion(ctx, tx, id, 1)
	})
}

// Rotate implements imgward.KeyService. Two rotations at once on two nodes
// each add a version; catalog.RotateKeys holds a cluster-wide lease so that
// only one runs.
func (s *Shared) Rotate(ctx context.Context, id imgward.KeyID) (uint32, error) {
	var next uint32
	err := s.change(ctx, "local.Rotate", id, func(tx imgward.Tx, vs []imgward.MasterKeyVersion) error {
		if len(vs) == 0 {
			return errors.E(errors.NotExist, errors.Msg("no such key"))
		}
		next = vs[len(vs)-1].Version + 1
		if next == 0 {
			return errors.E(errors.Conflict, errors.Msg("key versions exhausted"))
		}
		return s.addVersion(ctx, tx, id, next)
	})
	return next, err
}

// Retire implements imgward.KeyService: the version's row is deleted, and
// every node forgets it within the refresh period.
func (s *Shared) Retire(ctx context.Context, id imgward.KeyID, version uint32) error {
	return s.change(ctx, "local.Retire", id, func(tx imgward.Tx, vs []imgward.MasterKeyVersion) error {
		if len(vs) > 0 && vs[len(vs)-1].Version == version {
			return errors.E(errors.Conflict, errors.Msg("cannot retire the current key version"))
		}
		if err := tx.DeleteMasterKeyVersion(ctx, id, version); err != nil {
			return errors.E(errors.NotExist, errors.Msg("no such key version"), err)
		}
		return nil
	})
}

// GenerateDataKey implements imgward.KeyService. It reads the ring first,
// so that it wraps under the cluster's current version.
func (s *Shared) GenerateDataKey(ctx context.Context, id imgward.KeyID, ad []byte) ([]byte, imgward.WrappedKey, error) {
	return finder(s.lookup).generate(ctx, id, ad)
}

// Unwrap implements imgward.KeyService. It is a decryption oracle.
func (s *Shared) Unwrap(ctx context.Context, w imgward.WrappedKey, ad []byte) ([]byte, error) {
	return finder(s.lookup).unwrap(ctx, w, ad)
}

// Rewrap implements imgward.KeyService, to the cluster's current version.
func (s *Shared) Rewrap(ctx context.Context, w imgward.WrappedKey, ad []byte) (imgward.WrappedKey, error) {
	return finder(s.lookup).rewrap(ctx, w, ad)
}

// PublicKey implements imgward.KeyService: the public key of the signing
// key derived from the current version of master key id, the same on every
// node.
func (s *Shared) PublicKey(ctx context.Context, id imgward.KeyID) (ed25519.PublicKey, error) {
	return finder(s.lookup).publicKey(ctx, id)
}

// Sign implements imgward.KeyService with the signing key derived from the
// current version of master key id.
func (s *Shared) Sign(ctx context.Context, id imgward.KeyID, msg []byte) ([]byte, error) {
	return finder(s.lookup).sign(ctx, id, msg)
}

// Import copies the master keys of a single node's key file into the shared
// ring: a version the ring lacks is added; one it holds must be the same key
// (Conflict otherwise: two nodes made their own keys, and one set of images
// would be lost). It returns the number of versions added. Run it once per
// key file, then move the file away, or a version retired meanwhile would
// come back.
func (s *Shared) Import(ctx context.Context, path string) (int, error) {
	const op = "local.Import"
	r, err := load(path)
	if err != nil {
		return 0, errors.E(op, err)
	}
	added := 0
	for id, fm := range r {
		err := s.change(ctx, op, id, func(tx imgward.Tx, vs []imgward.MasterKeyVersion) error {
			added = 0
			have, err := s.decodeMaster(vs)
			if err != nil {
				return err
			}
			for n, fv := range fm.versions {
				if have != nil && have.versions[n] != nil {
					if !bytes.Equal(have.versions[n].key, fv.key) {
						return errors.E(errors.Conflict, errors.Errorf("key %s version %d of %s differs from the shared ring's", id, n, path))
					}
					continue
				}
				w, err := s.wrapVersion(id, n, fv.key)
				if err != nil {
					return err
				}
				if err := tx.CreateMasterKeyVersion(ctx, &imgward.MasterKeyVersion{KeyID: id, Version: n, Wrapped: w, CreatedAt: time.Now()}); err != nil {
					return err
				}
				added++
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
	}
	return added, nil
}

// ImportFile imports path if it exists and renames it to path+".imported",
// so that it is imported once. No file is not an error.
func (s *Shared) ImportFile(ctx context.Context, path string) (int, error) {
	if _, err := os.Stat(path); os.IsNotExist(err) {
		return 0, nil
	}
	n, err := s.Import(ctx, path)
	if err != nil {
		return 0, err
	}
	if err := os.Rename(path, path+".imported"); err != nil {
		return n, errors.E("local.ImportFile", errors.Unavailable, err)
	}
	return n, nil
}
