package identity

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"sync"
	"sync/atomic"
	"time"

	"imgward"
	"imgward/errors"
)

// DefaultRefresh is how long a node of a cluster trusts its copy of the
// shared key ring: a key rotated on another node signs here within it, and
// a key retired there stops verifying here. A document under a key this
// node does not know yet makes it read the ring at once.
const DefaultRefresh = 10 * time.Second

// missReload bounds how often documents under unknown keys make a node read
// the ring again.
const missReload = 100 * time.Millisecond

// shared keeps the key ring in a store that several nodes share (table
// identity_keys): the public keys, and the current key's Ed25519 seed, which
// is a data key of the KMS and is stored only wrapped by it
// (imgward.IdentitySeedAD). Master key rotation re-wraps it with the image
// keys (catalog.RotateKeys).
type shared struct {
	st      imgward.Store
	keys    imgward.KeyService
	keyID   imgward.KeyID
	refresh time.Duration
	mu      sync.Mutex   // serializes reads of the ring
	read    atomic.Int64 // when the ring was last read, in Unix nanoseconds
	stop    chan struct{}
	done    chan struct{}
}

// OpenSharedIssuer opens the key ring kept in st, creating its first key if
// there is none, with seeds wrapped by master key keyID of keys. Documents
// issued are valid for ttl (0: DefaultTTL); refresh is how often the ring is
// read again (0: DefaultRefresh). Close stops the refresh.
func OpenSharedIssuer(ctx context.Context, st imgward.Store, keys imgward.KeyService, keyID imgward.KeyID, ttl, refresh time.Duration) (*Issuer, error) {
	const op = "identity.OpenSharedIssuer"
	if ttl == 0 {
		ttl = DefaultTTL
	}
	if refresh <= 0 {
		refresh = DefaultRefresh
	}
	if ttl < 0 {
		return nil, errors.E(op, errors.Invalid, errors.New("negative ttl"))
	}
	sh := &shared{st: st, keys: keys, keyID: keyID, refresh: refresh, stop: make(chan struct{}), done: make(chan struct{})}
	i := &Issuer{ttl: ttl, shared: sh, signed: newSignedCache(maxSigned)}
	if err := sh.first(ctx); err != nil {
		return nil, errors.E(op, err)
	}
	if err := i.reload(ctx, time.Time{}); err != nil {
		return nil, errors.E(op, err)
	}
	go sh.loop(i)
	return i, nil
}

// first makes the first key of an empty ring; nodes starting together make
// one, since the check and the insert share a write transaction.
func (sh *shared) first(ctx context.Context) error {
	return sh.st.Update(ctx, func(tx imgward.Tx) error {
		ks, err := tx.IdentityKeys(ctx)
		if err != nil {
			return err
		}
		for _, k := range ks {
			if k.Current {
				return nil
			}
		}
		return sh.put(ctx, tx)
	})
}

// put records a new key, made from a fresh data key of the KMS, as current.
func (sh *shared) put(ctx context.Context, tx imgward.Tx) error {
	seed, w, err := sh.keys.GenerateDataKey(ctx, sh.keyID, []byte(imgward.IdentitySeedAD))
	if err != nil {
		return err
	}
	priv := ed25519.NewKeyFromSeed(seed)
	clear(seed)
	k, err := newKey(priv.Public().(ed25519.PublicKey), time.Now())
	if err != nil {
		return errors.E(errors.Internal, err)
	}
	return tx.PutIdentityKey(ctx, &imgward.IdentityKey{KID: k.kid, Public: k.pub, Seed: w, CreatedAt: k.created, Current: true})
}

// loop reads the ring every refresh period until Close.
func (sh *shared) loop(i *Issuer) {
	defer close(sh.done)
	t := time.NewTicker(sh.refresh)
	defer t.Stop()
	for {
		select {
		case <-sh.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), sh.refresh)
			i.reload(ctx, time.Time{}) // on failure the old copy serves until the next tick
			cancel()
		}
	}
}

// reload reads the ring from the store, unless another caller did after
// seen, and makes it this node's copy.
func (i *Issuer) reload(ctx context.Context, seen time.Time) error {
	sh := i.shared
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if !seen.IsZero() && time.Unix(0, sh.read.Load()).After(seen) {
		return nil
	}
	start := time.Now()
	var ks []imgward.IdentityKey
	err := sh.st.View(ctx, func(tx imgward.Tx) (err error) {
		ks, err = tx.IdentityKeys(ctx)
		return err
	})
	if err != nil {
		return errors.E(errors.Unavailable, err)
	}
	r, err := sh.ring(ctx, ks, i.state.Load())
	if err != nil {
		return err
	}
	i.state.Store(r)
	sh.read.Store(start.UnixNano())
	return nil
}

// ring builds the ring of stored keys ks, unwrapping the current key's seed
// unless prev already holds that key.
func (sh *shared) ring(ctx context.Context, ks []imgward.IdentityKey, prev *ring) (*ring, error) {
	var cur *key
	var others []*key
	for _, sk := range ks {
		k, err := newKey(ed25519.PublicKey(sk.Public), sk.CreatedAt)
		if err != nil || k.kid != sk.KID || len(sk.Public) != ed25519.PublicKeySize {
			return nil, errors.E(errors.Internal, errors.Errorf("stored identity key %q is malformed", sk.KID))
		}
		if !sk.Current || cur != nil {
			others = append(others, k)
			continue
		}
		cur = k
		if prev != nil && prev.current.kid == k.kid {
			k.priv = prev.current.priv
			continue
		}
		seed, err := sh.keys.Unwrap(ctx, sk.Seed, []byte(imgward.IdentitySeedAD))
		if err != nil {
			return nil, errors.E(errors.Internal, errors.Msg("the current identity key does not unwrap"), err)
		}
		k.priv = ed25519.NewKeyFromSeed(seed)
		clear(seed)
		if !bytes.Equal(k.priv.Public().(ed25519.PublicKey), k.pub) {
			return nil, errors.E(errors.Internal, errors.Errorf("identity key %q: its seed is not its key", sk.KID))
		}
	}
	if cur == nil {
		return nil, errors.E(errors.Internal, errors.Msg("the shared identity key ring has no current key"))
	}
	return newRing(cur, others)
}

// rotate records a new current key for every node.
func (i *Issuer) rotateShared(ctx context.Context) (string, error) {
	sh := i.shared
	if err := sh.st.Update(ctx, func(tx imgward.Tx) error { return sh.put(ctx, tx) }); err != nil {
		return "", err
	}
	if err := i.reload(ctx, time.Time{}); err != nil {
		return "", err
	}
	return i.state.Load().current.kid, nil
}

// retireShared removes a key that is not current for every node.
func (i *Issuer) retireShared(ctx context.Context, kid string) error {
	sh := i.shared
	err := sh.st.Update(ctx, func(tx imgward.Tx) error {
		ks, err := tx.IdentityKeys(ctx)
		if err != nil {
			return err
		}
		for _, k := range ks {
			if k.KID == kid && k.Current {
				return errors.E(errors.Conflict, errors.Msg("cannot retire the current signing key"))
			}
		}
		if err := tx.DeleteIdentityKey(ctx, kid); err != nil {
			return errors.E(errors.NotExist, errors.Msg("no such signing key"), err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return i.reload(ctx, time.Time{})
}

// verifyFresh verifies token again after reading the ring, when it failed
// under this node's copy, which may miss a key made on another node.
func (i *Issuer) verifyFresh(token string, now time.Time) (*Document, error) {
	read := time.Unix(0, i.shared.read.Load())
	if time.Since(read) < missReload {
		return nil, errors.E(errors.Permission, errors.Msg("unknown identity signing key"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := i.reload(ctx, read); err != nil {
		return nil, err
	}
	return i.state.Load().keys.Verify(token, now)
}

// Close stops the refresh of a shared ring; it does nothing for a key file.
func (i *Issuer) Close() {
	if i.shared != nil {
		close(i.shared.stop)
		<-i.shared.done
	}
}
