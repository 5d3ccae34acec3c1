package broker

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
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
//
// pre, when not nil, is the outcome of the unseal or unwrap done before the
// transaction: it is used only if the key record read in tx is the one pre
// was made from, after every other check has passed in tx.
func (b *Broker) decide(ctx context.Context, tx imgward.Tx, doc *identity.Document, id imgward.ImageID, now time.Time, pre *prepared) (*Release, string, error) {
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
	// Every record the rules below read, in one statement; they are
	// checked in the order that reading them one by one once set.
	rc, err := tx.ReleaseContext(ctx, doc.InstanceID, id)
	if err != nil {
		return fail(err)
	}
	in := rc.Instance
	switch {
	case in == nil:
		return perm("no such instance")
	case in.State != imgward.InstanceRunning:
		return perm("instance is " + string(in.State))
	case in.ImageID != doc.ImageID || in.ProjectID != doc.ProjectID || in.UserID != doc.UserID:
		return perm("identity document does not match the instance")
	}
	img := rc.Image
	if img == nil {
		return hidden("no such image")
	}
	var m *imgward.Member
	if img.Owner != in.ProjectID && img.Visibility == imgward.Shared {
		m = rc.Member
	}
	if see, use, why := catalog.MayUse(img, m, in.ProjectID, quarantineAdmin(rc)); !see {
		return hidden(why)
	} else if !use {
		return perm(why)
	}
	// A paid image's key goes only to the live instances of a project
	// with an active subscription: cancelling stops releases at once.
	if img.ProductCode != "" {
		if rc.Offer == nil {
			return fail(errors.E(errors.NotExist, errors.Errorf("no offer issued product code %s", img.ProductCode)))
		}
		if _, why := catalog.Entitled(rc.Offer, rc.Subscription, in.ProjectID); why != "" {
			return perm(why)
		}
	}
	k := rc.Key
	if k == nil {
		return perm(b.keyless(ctx, img))
	}
	if k.Owner != img.Owner {
		return perm("image changed owner since it was sealed")
	}
	if pre.matches(k, img.Blob, in) {
		return pre.take()
	}
	b.hints.put(k, img.Blob)
	if k.Mode == imgward.ProtectLUKS {
		// No sealed header: the LUKS disk carries no binding of its own.
		// The key is bound to the image by the KMS (the image id is the
		// wrap's additional data), and a copy uploaded as another image
		// does not open with that image's key.
		return b.unwrap(ctx, img, k, "instance "+string(in.ID))
	}
	rel, reason, err := b.unseal(ctx, img, k, in)
	if err == nil {
		b.hints.verified(k, img.Blob)
	}
	return rel, reason, err
}

// quarantineAdmin reports whether the user who launched rc's instance is
// an admin, which only a quarantined image of another project asks: its
// key goes to nobody but the owner's and admins' instances until it is
// cleared. The role is read at the release, so an admin demoted since the
// launch gets no key.
func quarantineAdmin(rc *imgward.ReleaseContext) bool {
	if !rc.Image.Quarantined || rc.Image.Owner == rc.Instance.ProjectID {
		return false
	}
	return rc.User != nil && rc.User.Role == imgward.RoleAdmin
}

// keyless explains why an image has no key: usually it is not protected,
// but sealed bytes of another owner uploaded as a new image have none too.
func (b *Broker) keyless(ctx context.Context, img *imgward.Image) string {
	h, err := b.header(ctx, img)
	if err == nil && h.Owner != img.Owner {
		return "sealed image binding names another owner"
	}
	if err == nil {
		return "sealed image has no key in the catalog"
	}
	return "image is not protected: it has no key"
}

// header reads the sealed header of an image's data, unauthenticated.
func (b *Broker) header(ctx context.Context, img *imgward.Image) (*seal.Header, error) {
	rc, _, err := b.blobs.Open(ctx, img.BlobKey())
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
	rc, _, err := b.blobs.Open(ctx, img.BlobKey())
	if err != nil {
		return perm("image has no sealed data")
	}
	defer rc.Close()
	// A wholly sealed image starts with its header; one with only its
	// sensitive entries sealed has one per entry, and the catalog recorded
	// where the first is. Each binds image, owner and key alike.
	if _, err := rc.Seek(k.SealedAt, io.SeekStart); err != nil {
		return perm("image has no sealed data")
	}
	var raw bytes.Buffer
	h, err := seal.ParseHeader(io.TeeReader(io.LimitReader(rc, int64(seal.MaxHeaderSize)), &raw))
	if err != nil {
		return perm("image data is not sealed")
	}
	if h.ImageID != img.ID || h.Owner != img.Owner {
		return perm("sealed image binding names another image or owner")
	}
	// The header keeps the version it was sealed under, while rotation
	// re-wraps the record's data key to newer ones without touching the
	// image: so a header may name an older version, never a newer one
	// (versions only grow). The version is not what binds the image to the
	// record: the header authenticates only under the data key unwrapped
	// with the image id as additional data, and a rewrap keeps that key.
	if h.KeyID != k.Wrapped.KeyID || h.KeyVersion > k.Wrapped.Version {
		return perm("sealed header key does not match the catalog")
	}
	rel, reason, err := b.unwrap(ctx, img, k, "instance "+string(in.ID))
	if err != nil {
		return rel, reason, err
	}
	// Only now is the header trusted: it was sealed with this very key.
	if _, err := seal.OpenHeader(&raw, rel.dataKey); err != nil {
		clear(rel.dataKey)
		return perm("sealed header does not authenticate")
	}
	return rel, reason, nil
}

// unwrap unwraps an image's data key into a Release for to. The key is
// wrapped to the requester after the commit, which frees the write lock
// sooner: ECDH is the slowest step of a release.
func (b *Broker) unwrap(ctx context.Context, img *imgward.Image, k *imgward.ImageKey, to string) (*Release, string, error) {
	dk, err := b.keys.Unwrap(ctx, k.Wrapped, []byte(img.ID))
	if errors.Is(errors.Unavailable, err) {
		return nil, "", errors.E(errors.Unavailable, errors.Msg("key service unavailable"), err)
	} else if err != nil {
		why := "image key does not unwrap"
		return nil, why, errors.E(errors.Permission, errors.Msg(why))
	}
	return &Release{dataKey: dk, KeyID: k.Wrapped.KeyID, KeyVersion: k.Wrapped.Version},
		fmt.Sprintf("released key %s v%d to %s", k.Wrapped.KeyID, k.Wrapped.Version, to), nil
}

// prepared is the outcome of unseal or unwrap for one key record, made
// before the write transaction.
type prepared struct {
	key    *imgward.ImageKey // the record it was made from
	blob   string            // and the image's blob key
	in     imgward.InstanceID
	rel    *Release // nil for a denial
	reason string
	err    error
}

// prepare does, outside any write transaction, what decide does last:
// check the sealed header against the image's key record, unwrap the data
// key and authenticate the header. The key record is the one decide read
// for the image's last release (a hint: see keyHints); prepare returns nil
// when there is none, when the store or the KMS fails, or when the document
// is for another image, and decide then does it all within its
// transaction. Nothing is released or denied on the strength of prepare
// alone: decide makes every check first, in order, and uses the outcome
// only if the key record it reads in its transaction is the same one, of
// the image's current owner.
//
// A document is issued at a launch, for the image and to an instance that
// was allowed it, so that the KMS unwraps for no one else. Reading the key
// record in a read transaction of its own instead of the hint cost more CPU
// than the unseal that it took off the single writer.
func (b *Broker) prepare(ctx context.Context, doc *identity.Document, id imgward.ImageID) *prepared {
	if doc.ImageID != id {
		return nil
	}
	k, blob, verified := b.hints.get(id)
	if k == nil {
		return nil
	}
	// decide uses the outcome only where the image's owner is k.Owner. The
	// data's blob key is fixed while the key record is: an image is sealed
	// once, and its data moves (catalog offerseal.go) only when it gets
	// its first key.
	img := &imgward.Image{ID: id, Owner: k.Owner, Blob: blob}
	in := &imgward.Instance{ID: doc.InstanceID}
	var rel *Release
	var reason string
	var err error
	switch {
	case k.Mode == imgward.ProtectLUKS || verified:
		// Verified: the header was checked for this very record and blob
		// (see keyHints), and the data key still comes from the KMS.
		rel, reason, err = b.unwrap(ctx, img, k, "instance "+string(in.ID))
	default:
		rel, reason, err = b.unseal(ctx, img, k, in)
		if err == nil {
			b.hints.verified(k, blob)
		}
	}
	if errors.KindOf(err) == errors.Unavailable {
		return nil
	}
	return &prepared{key: k, blob: blob, in: in.ID, rel: rel, reason: reason, err: err}
}

// keyHints keeps the key record that decide last read for each image, and
// the image's blob key, for prepare. A hint is never trusted: decide
// compares it with the record in its transaction. It holds no secret (a
// wrapped key is useless without the KMS, and no data key is kept) and at
// most maxHints records.
//
// A hint is marked verified once the sealed header in its blob, at its
// record's SealedAt, has been found to name the image, the record's owner
// and key, and to authenticate under the data key the record wraps; then
// prepare skips reading and checking the header again (a file open, a
// read and a MAC: about a tenth of a release's processor time outside the
// crypto it must do) and only unwraps. This can serve no stale or foreign
// verdict:
//   - the verdict is about one record and one blob key, and decide uses a
//     prepared outcome only if the record it reads in its transaction
//     equals the hint's in every field (a rotation re-wraps: another
//     ciphertext and version) and the image's blob key is the hint's
//     (re-sealing an image writes a new blob under a new key, with a new
//     record; catalog offerseal.go);
//   - the bytes under a blob key are written only before the image's key
//     record exists (its upload, which creates the record), never after,
//     so that a record and a blob key, once equal, name the same header;
//   - a hint is replaced, never changed, when decide reads another record
//     (put), and verified marks only the entry that still holds the record
//     and blob that were checked;
//   - the data key is unwrapped by the KMS for every release, with the
//     image id as additional data, so that even a wrong verdict could
//     release no key but the one the catalog records for this image.
type keyHints struct {
	mu sync.Mutex
	m  map[imgward.ImageID]hint
}

type hint struct {
	key      *imgward.ImageKey
	blob     string // imgward.Image.Blob
	verified bool   // the header in blob was checked against key
}

const maxHints = 4096

func (h *keyHints) get(id imgward.ImageID) (*imgward.ImageKey, string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e := h.m[id]
	return e.key, e.blob, e.verified
}

// put records k, which no one modifies afterwards, not verified.
func (h *keyHints) put(k *imgward.ImageKey, blob string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.m == nil || len(h.m) >= maxHints {
		h.m = make(map[imgward.ImageID]hint)
	}
	h.m[k.ImageID] = hint{key: k, blob: blob}
}

// verified marks the hint of k's image verified if it is still k (the
// same record, not one equal to it) with blob.
func (h *keyHints) verified(k *imgward.ImageKey, blob string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if e, ok := h.m[k.ImageID]; ok && e.key == k && e.blob == blob {
		e.verified = true
		h.m[k.ImageID] = e
	}
}

// matches reports whether p was made for key record k, the image's blob
// key blob and instance in.
func (p *prepared) matches(k *imgward.ImageKey, blob string, in *imgward.Instance) bool {
	if p == nil {
		return false
	}
	q := p.key
	return q.ImageID == k.ImageID && q.Owner == k.Owner && q.Mode == k.Mode && q.SealedAt == k.SealedAt &&
		q.CreatedAt.Equal(k.CreatedAt) && q.Wrapped.KeyID == k.Wrapped.KeyID && q.Wrapped.Version == k.Wrapped.Version &&
		bytes.Equal(q.Wrapped.Ciphertext, k.Wrapped.Ciphertext) && p.blob == blob && p.in == in.ID
}

// take returns p's outcome, with a copy of the data key: a transaction
// that is retried clears the one it was given.
func (p *prepared) take() (*Release, string, error) {
	if p.rel == nil {
		return nil, p.reason, p.err
	}
	r := *p.rel
	r.dataKey = bytes.Clone(p.rel.dataKey)
	return &r, p.reason, nil
}

// clear erases p's data key.
func (p *prepared) clear() {
	if p != nil && p.rel != nil {
		clear(p.rel.dataKey)
	}
}
