package identity

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"

	"imgward/errors"
)

// Issuer signs identity documents with the provider's key ring and verifies
// them. Its methods are safe for concurrent use.
type Issuer struct {
	path  string
	ttl   time.Duration
	mu    sync.Mutex           // serializes changes of the ring and its file
	state atomic.Pointer[ring] // never modified, only replaced
	// shared, when set, keeps the ring in a store that several nodes
	// share instead of the file at path (shared.go).
	shared *shared
	signed *signedCache // the documents signed here (signed.go)
}

var _ Verifier = (*Issuer)(nil)

// key is an Ed25519 key of the ring.
type key struct {
	kid     string // the key's JWK thumbprint (RFC 7638), SHA-256, base64url
	pub     ed25519.PublicKey
	priv    ed25519.PrivateKey // the current key only
	created time.Time
}

func newKey(pub ed25519.PublicKey, created time.Time) (*key, error) {
	jwk := jose.JSONWebKey{Key: pub}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, err
	}
	return &key{kid: base64.RawURLEncoding.EncodeToString(tp), pub: pub, created: created.UTC()}, nil
}

func generateKey(now time.Time) (*key, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	k, err := newKey(pub, now)
	if err != nil {
		return nil, err
	}
	k.priv = priv
	return k, nil
}

// ring is the key ring: the current key, which signs, and the previous
// ones, newest first, which only verify. Immutable once built.
type ring struct {
	current  *key
	previous []*key
	header   string  // the base64url of the current key's protected JWS header
	keys     *KeySet // every key, for verifying
	// signer is the current key's public half, which the signedCache
	// keeps: not the private key, which must not outlive the ring.
	signer *key
}

func newRing(cur *key, prev []*key) (*ring, error) {
	header, err := encodedHeader(cur.kid)
	if err != nil {
		return nil, err
	}
	if len(cur.priv) != ed25519.PrivateKeySize {
		return nil, errors.New("the current key has no private half")
	}
	r := &ring{current: cur, previous: prev, header: header, keys: &KeySet{keys: map[string]ed25519.PublicKey{}},
		signer: &key{kid: cur.kid, pub: cur.pub, created: cur.created}}
	for _, k := range append([]*key{cur}, prev...) {
		if r.keys.keys[k.kid] != nil {
			return nil, errors.Errorf("key %s is in the ring twice", k.kid)
		}
		r.keys.keys[k.kid] = k.pub
	}
	return r, nil
}

// OpenIssuer opens the key ring in directory dir, creating the directory
// (mode 0700) and a ring of one new key (file mode 0600) if there is none.
// Documents issued are valid for ttl, or DefaultTTL when ttl is 0.
func OpenIssuer(dir string, ttl time.Duration) (*Issuer, error) {
	const op = "identity.OpenIssuer"
	if ttl == 0 {
		ttl = DefaultTTL
	}
	if ttl < 0 {
		return nil, errors.E(op, errors.Invalid, errors.New("negative ttl"))
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, errors.E(op, errors.Unavailable, err)
	}
	path := filepath.Join(dir, KeyFile)
	r, err := loadRing(path)
	if errors.Is(errors.NotExist, err) {
		r, err = firstRing(path)
	}
	if err != nil {
		return nil, errors.E(op, err)
	}
	i := &Issuer{path: path, ttl: ttl, signed: newSignedCache(maxSigned)}
	i.state.Store(r)
	return i, nil
}

// firstRing creates the key file at path with one new key.
func firstRing(path string) (*ring, error) {
	k, err := generateKey(time.Now())
	if err != nil {
		return nil, errors.E(errors.Internal, err)
	}
	r, err := newRing(k, nil)
	if err != nil {
		return nil, errors.E(errors.Internal, err)
	}
	if err := createRing(path, r); errors.Is(errors.Exist, err) {
		return loadRing(path) // another process created it first
	} else if err != nil {
		return nil, err
	}
	return r, nil
}

// Issue fills in d's IssuedAt (now), ExpiresAt and a fresh Nonce, and
// returns d signed by the current key. The fields that name the instance
// must be well formed (Invalid).
func (i *Issuer) Issue(d *Document, now time.Time) (string, error) {
	const op = "identity.Issue"
	if err := d.checkSubject(); err != nil {
		return "", errors.E(op, errors.Invalid, err)
	}
	nonce := make([]byte, 16)
	rand.Read(nonce)
	d.Nonce = base64.RawURLEncoding.EncodeToString(nonce)
	d.IssuedAt = now.UTC().Truncate(time.Second)
	d.ExpiresAt = d.IssuedAt.Add(i.ttl)
	payload, err := json.Marshal(d)
	if err != nil {
		return "", errors.E(op, errors.Internal, err)
	}
	r := i.state.Load()
	token := signCompact(r.header, r.current.priv, payload)
	i.signed.add(token, r.signer, d.ExpiresAt.Add(ClockSkew), now)
	return token, nil
}

// Verify implements Verifier with every key of the ring. A token that this
// Issuer signed, byte for byte, is not checked for its signature again
// (signedCache); every other check is made.
func (i *Issuer) Verify(token string, now time.Time) (*Document, error) {
	var signer *key
	if len(token) <= MaxTokenSize { // a larger one is refused unread
		signer = i.signed.signer(token)
	}
	d, err := i.state.Load().keys.verify(token, now, signer)
	if err != nil && i.shared != nil && errors.Is(errors.Permission, err) {
		if d2, err2 := i.verifyFresh(token, now); err2 == nil {
			return d2, nil
		}
	}
	return d, err
}

// Redeemed tells i that token's nonce is spent, so that it forgets the
// token: any later presentation is refused by the nonce, and is verified by
// signature again. See Spent.
func (i *Issuer) Redeemed(token string) { i.signed.forget(token) }

// Keys returns the public keys of the ring, current first, as a JWKS for
// GET /v1/identity/keys.
func (i *Issuer) Keys() jose.JSONWebKeySet {
	r := i.state.Load()
	var set jose.JSONWebKeySet
	for _, k := range append([]*key{r.current}, r.previous...) {
		set.Keys = append(set.Keys, jose.JSONWebKey{
			Key: k.pub, KeyID: k.kid, Algorithm: string(jose.EdDSA), Use: "sig",
		})
	}
	return set
}

// Rotate makes a new key current and returns its key id. The former current
// key keeps only its public half: it verifies until retired, but never signs
// again.
func (i *Issuer) Rotate(ctx context.Context) (string, error) {
	const op = "identity.Rotate"
	if i.shared != nil {
		kid, err := i.rotateShared(ctx)
		if err != nil {
			return "", errors.E(op, err)
		}
		return kid, nil
	}
	var kid string
	err := i.change(ctx, op, func(r *ring) (*ring, error) {
		k, err := generateKey(time.Now())
		if err != nil {
			return nil, errors.E(errors.Internal, err)
		}
		kid = k.kid
		old := *r.current
		old.priv = nil
		return newRing(k, append([]*key{&old}, r.previous...))
	})
	return kid, err
}

// Retire removes a previous key: documents it signed no longer verify.
// Conflict for the current key, NotExist for an unknown one.
func (i *Issuer) Retire(ctx context.Context, kid string) error {
	const op = "identity.Retire"
	if i.shared != nil {
		if err := i.retireShared(ctx, kid); err != nil {
			return errors.E(op, err)
		}
		return nil
	}
	return i.change(ctx, op, func(r *ring) (*ring, error) {
		if r.current.kid == kid {
			return nil, errors.E(errors.Conflict, errors.Msg("cannot retire the current signing key"))
		}
		var prev []*key
		for _, k := range r.previous {
			if k.kid != kid {
				prev = append(prev, k)
			}
		}
		if len(prev) == len(r.previous) {
			return nil, errors.E(errors.NotExist, errors.Msg("no such signing key"))
		}
		return newRing(r.current, prev)
	})
}

// change replaces the ring with fn's, once it is saved.
func (i *Issuer) change(ctx context.Context, op string, fn func(*ring) (*ring, error)) error {
	if err := ctx.Err(); err != nil {
		return errors.E(op, errors.Unavailable, err)
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	r, err := fn(i.state.Load())
	if err != nil {
		return errors.E(op, err)
	}
	if err := saveRing(i.path, r); err != nil {
		return errors.E(op, err)
	}
	i.state.Store(r)
	return nil
}
