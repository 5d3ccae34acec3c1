// Package broker is the key broker: it releases the data key of a
// protected image to the hypervisor host of an instance, and to nobody else.
// The host presents the instance's signed identity document (package
// identity), the image it wants and an ephemeral P-256 public key; the
// broker checks the document (signature, validity, a nonce used once across
// all nodes), the instance (it exists, runs, and is that document's), the
// rules of use (its project owns the image or is an accepted member), and
// the sealed image's header against the catalog's record, and only then
// unwraps the data key and returns it encrypted to the host's key as a JWE
// (ECDH-ES, A256GCM). The key is never in the clear outside this process,
// and never in a log or an error.
//
// Every release and every denial is audited with its reason. A project that
// may not see the image is told that it does not exist, whether it does or
// not.
package broker

import (
	"context"
	"crypto/ecdh"
	"encoding/json"
	"log/slog"
	"time"

	"imgward"
	"imgward/audit"
	"imgward/errors"
	"imgward/identity"
)

// Broker decides key releases.
type Broker struct {
	store imgward.Store
	blobs imgward.BlobStore
	keys  imgward.KeyService
	ids   identity.Verifier
	now   func() time.Time
	log   *slog.Logger
	hints keyHints    // key records, for prepare
	spent spentNonces // nonces seen spent, so that a replay skips prepare
}

// Option configures a Broker.
type Option func(*Broker)

// WithClock sets the clock, for tests.
func WithClock(now func() time.Time) Option { return func(b *Broker) { b.now = now } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(b *Broker) { b.log = l } }

// New returns a Broker. ids verifies identity documents (an
// identity.Issuer, or a KeySet of its published keys).
func New(store imgward.Store, blobs imgward.BlobStore, keys imgward.KeyService, ids identity.Verifier, opts ...Option) *Broker {
	b := &Broker{store: store, blobs: blobs, keys: keys, ids: ids, now: time.Now, log: slog.Default()}
	for _, o := range opts {
		o(b)
	}
	return b
}

// MaxPublicKeySize bounds the JWK of a request.
const MaxPublicKeySize = 1 << 10

// Request asks for an image's key.
type Request struct {
	Identity  string          `json:"identity"`   // the instance's compact JWS
	ImageID   imgward.ImageID `json:"image_id"`   // the image whose key is wanted
	PublicKey json.RawMessage `json:"public_key"` // a JWK of an ephemeral P-256 ECDH key
}

// Release is a released key.
type Release struct {
	Key        string        `json:"key"` // compact JWE of the 32-byte data key
	KeyID      imgward.KeyID `json:"key_id"`
	KeyVersion uint32        `json:"key_version"`

	dataKey []byte // until Key is made; never serialized
}

// Release decides req. Errors: Invalid for a malformed request; Permission
// with the reason for a denial; NotExist ("no such image") when the image
// is absent or the instance's project may not see it; Unavailable when the
// store or the KMS fails.
func (b *Broker) Release(ctx context.Context, req Request) (*Release, error) {
	const op = "broker.Release"
	now := b.now()
	object := "image/" + string(req.ImageID)
	pub, err := parsePublicKey(req.PublicKey)
	if err != nil {
		return nil, b.deny(ctx, "unknown", object, "malformed public key", errors.E(op, err))
	}
	doc, err := b.ids.Verify(req.Identity, now)
	if err != nil {
		return nil, b.deny(ctx, "unknown", object, errors.Message(err), errors.E(op, err))
	}
	// The sealed header and the KMS unwrap, read and done before the write
	// transaction, which only checks that the key record is still the same:
	// SQLite has a single writer, and they were a quarter of its time a
	// release. A document seen already is not prepared: decide refuses it
	// before any unwrap.
	var pre *prepared
	if !b.spent.has(doc.Nonce, now) {
		pre = b.prepare(ctx, doc, req.ImageID)
		defer pre.clear()
	}
	var rel *Release
	var deny error // the decision, when it is a denial
	// A hot-path write (imgward.HotUpdater): it spends the nonce, which
	// its primary key keeps once-only across nodes, reads rules that only
	// Updates change, and appends.
	err = imgward.UpdateHot(ctx, b.store, func(tx imgward.Tx) error {
		if rel != nil {
			clear(rel.dataKey) // of an attempt that was retried
		}
		rel, deny = nil, nil
		var reason string
		rel, reason, deny = b.decide(ctx, tx, doc, req.ImageID, now, pre)
		if deny != nil && errors.KindOf(deny) == errors.Unavailable {
			return deny // the store or KMS failed: nothing to commit
		}
		e := &imgward.AuditEntry{Time: now.UTC().Truncate(time.Microsecond), Actor: string(doc.UserID),
			Action: "key.release", Object: object, Result: imgward.ResultOK, Reason: reason}
		if deny != nil {
			e.Result = imgward.ResultDenied
		}
		// The nonce spent by decide commits with this entry, a denial's too:
		// a document is presented once, whatever the answer.
		return tx.AppendAudit(ctx, e)
	})
	if err == nil {
		b.spent.add(doc.Nonce, doc.ExpiresAt.Add(identity.ClockSkew), now)
		identity.Spent(b.ids, req.Identity) // the issuer forgets the document
	}
	return deliver(op, rel, deny, err, pub)
}

// deny audits a denial decided before any transaction, with the actor that
// is known then, and returns err.
func (b *Broker) deny(ctx context.Context, actor, object, reason string, err error) error {
	return audit.Deny(ctx, b.store, b.log, imgward.AuditEntry{Time: b.now().UTC().Truncate(time.Microsecond),
		Actor: actor, Action: "key.release", Object: object, Reason: reason}, err)
}

// deliver ends a key release decided in a store transaction: after a
// store failure (txErr) or a denial, the data key is cleared and the error
// returned; otherwise the key is encrypted to pub, the requester's
// ephemeral key, and cleared.
func deliver(op string, rel *Release, deny, txErr error, pub *ecdh.PublicKey) (*Release, error) {
	if txErr != nil {
		if rel != nil {
			clear(rel.dataKey)
		}
		return nil, errors.E(op, errors.Unavailable, errors.Msg("key release unavailable"), txErr)
	}
	if deny != nil {
		return nil, errors.E(op, deny)
	}
	key, err := encryptTo(pub, rel.dataKey)
	clear(rel.dataKey)
	rel.dataKey = nil
	if err != nil {
		return nil, errors.E(op, errors.Internal, err)
	}
	rel.Key = key
	return rel, nil
}
