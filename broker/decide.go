package broker

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"imgward"
	"imgward/catalog"
	"imgward/errors"
	"imgward/identity"
	"imgward/seal"
)

// decide spends the document's nonce and checks every rule, within tx. It
// returns the release and its audit reason, or a denial error whose
// message the caller sees and the reason the log keeps.
func (b *Broker) decide(ctx context.Context, tx imgward.Tx, doc *identity.Document, id imgward.ImageID, now time.Time) (*Release, string, error) {
	perm := func(why string) (*Release, string, error) {
		return nil, why, errors.E(errors.Permission, errors.Msg(why))
	}
	// A project that may not see the image learns no more than that it
	// does not exist; the audit log keeps the real reason.
	hidden := func(why string) (*Release, string, error) {
		return nil, why, errors.E(errors.NotExist, errors.Msg("no such image"))
	}
	fail := func(err error) (*Release, string, error) {
		return nil, "", errors.E(errors.Unavailable, err)
	}
	err := tx.UseNonce(ctx, doc.Nonce, doc.ExpiresAt.Add(identity.ClockSkew), now)
	if errors.Is(errors.Conflict, err) {
		return perm("identity document already used")
	} else if err != nil {
		return fail(err)
	}
	if doc.ImageID != id {
		return perm("identity document is for another image")
	}
	in, err := tx.Instance(ctx, doc.InstanceID)
	switch {
	case errors.Is(errors.NotExist, err):
		return perm("no such instance")
	case err != nil:
		return fail(err)
	case in.State != imgward.InstanceRunning:
		return perm("instance is " + string(in.State))
	case in.ImageID != doc.ImageID || in.ProjectID != doc.ProjectID || in.UserID != doc.UserID:
		return perm("identity document does not match the instance")
	}
	img, err := tx.Image(ctx, id)
	if errors.Is(errors.NotExist, err) {
		return hidden("no such image")
	} else if err != nil {
		return fail(err)
	}
	var m *imgward.Member
	if img.Owner != in.ProjectID && img.Visibility == imgward.Shared {
		if m, err = tx.Member(ctx, id, in.ProjectID); errors.Is(errors.NotExist, err) {
			m = nil
		} else if err != nil {
			return fail(err)
		}
	}
	if see, use, why := catalog.MayUse(img, m, in.ProjectID); !see {
		return hidden(why)
	} else if !use {
		return perm(why)
	}
	k, err := tx.ImageKey(ctx, id)
	if errors.Is(errors.NotExist, err) {
		return perm(b.keyless(ctx, img))
	} else if err != nil {
		return fail(err)
	}
	if k.Owner != img.Owner {
		return perm("image changed owner since it was sealed")
	}
	return b.unseal(ctx, img, k, in)
}

// keyless explains why an image has no key: usually it is not protected,
// but sealed bytes of another owner uploaded as a new image have none too.
func (b *Broker) keyless(ctx context.Context, img *imgward.Image) string {
	h, err := b.header(ctx, img.ID)
	if err == nil && h.Owner != img.Owner {
		return "sealed image binding names another owner"
	}
	if err == nil {
		return "sealed image has no key in the catalog"
	}
	return "image is not protected: it has no key"
}

// header reads the sealed header of an image's data, unauthenticated.
func (b *Broker) header(ctx context.Context, id imgward.ImageID) (*seal.Header, error) {
	rc, _, err := b.blobs.Open(ctx, string(id))
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return seal.ParseHeader(rc)
}

// unseal checks the sealed header against the catalog, unwraps the data
// key and authenticates the header with it.
func (b *Broker) unseal(ctx context.Context, img *imgward.Image, k *imgward.ImageKey, in *imgward.Instance) (*Release, string, error) {
	perm := func(why string) (*Release, string, error) {
		return nil, why, errors.E(errors.Permission, errors.Msg(why))
	}
	rc, _, err := b.blobs.Open(ctx, string(img.ID))
	if err != nil {
		return perm("image has no sealed data")
	}
	defer rc.Close()
	var raw bytes.Buffer
	h, err := seal.ParseHeader(io.TeeReader(io.LimitReader(rc, int64(seal.MaxHeaderSize)), &raw))
	if err != nil {
		return perm("image data is not sealed")
	}
	if h.ImageID != img.ID || h.Owner != img.Owner {
		return perm("sealed image binding names another image or owner")
	}
	if h.KeyID != k.Wrapped.KeyID || h.KeyVersion != k.Wrapped.Version {
		return perm("sealed header key does not match the catalog")
	}
	dk, err := b.keys.Unwrap(ctx, k.Wrapped, []byte(img.ID))
	if errors.Is(errors.Unavailable, err) {
		return nil, "", errors.E(errors.Unavailable, errors.Msg("key service unavailable"), err)
	} else if err != nil {
		return perm("image key does not unwrap")
	}
	defer clear(dk)
	// Only now is the header trusted: it was sealed with this very key.
	if _, err := seal.OpenHeader(&raw, dk); err != nil {
		return perm("sealed header does not authenticate")
	}
	// The key is wrapped to pub after the commit, which frees the write
	// lock sooner: ECDH is the slowest step of a release.
	return &Release{dataKey: bytes.Clone(dk), KeyID: k.Wrapped.KeyID, KeyVersion: k.Wrapped.Version},
		fmt.Sprintf("released key %s v%d to instance %s", k.Wrapped.KeyID, k.Wrapped.Version, in.ID), nil
}
