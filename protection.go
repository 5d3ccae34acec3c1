package imgward

import (
	"context"
	"time"
)

// ProtectMode says how an image's bytes are kept at rest: the image
// property imgward_protect, set by the owner when the image is created.
type ProtectMode string

// The protect modes.
const (
	ProtectNone      ProtectMode = "none"      // stored as uploaded
	ProtectFull      ProtectMode = "full"      // stored only sealed (package seal)
	ProtectSensitive ProtectMode = "sensitive" // only the sensitive files of a rootfs sealed
	// ProtectLUKS: a qcow2 disk that the owner encrypted with LUKS under
	// the passphrase of the image's data key (package seal/qcow2), made
	// when the image is created; stored as uploaded, opened by QEMU.
	ProtectLUKS ProtectMode = "luks"
)

// ImageKey is the record of a protected image: its data key, wrapped by a
// KeyService under the image id as additional data, and the binding that
// the sealed image's header must repeat before the key broker releases it.
type ImageKey struct {
	ImageID   ImageID
	Owner     ProjectID // the owner the image was sealed for
	Mode      ProtectMode
	Wrapped   WrappedKey
	CreatedAt time.Time
	// SealedAt is the offset in the stored data of the sealed header that
	// the broker checks: 0 for ProtectFull, that of the first sealed entry's
	// content for ProtectSensitive (a tar whose entries carry the headers).
	SealedAt int64
}

// ImageFingerprint is the content fingerprint of an image's plaintext: its
// distinct chunk sums, encoded by package fingerprint (opaque here).
type ImageFingerprint struct {
	ImageID ImageID
	Owner   ProjectID
	Sums    []byte
}

// Flag marks an image as suspected of being taken from another owner's
// protected image: re-uploaded sealed bytes, or a plaintext derived from
// one. A flagged image may not be shared until an admin clears the flag.
type Flag struct {
	ImageID     ImageID
	DerivedFrom ImageID // the protected image it was taken from, if known
	Fraction    float64 // the share of DerivedFrom's content found in ImageID
	Reason      string
	CreatedAt   time.Time
	ClearedBy   UserID    // empty while the flag stands
	ClearedAt   time.Time // zero while the flag stands
}

// Cleared reports whether an admin has cleared the flag.
func (f *Flag) Cleared() bool { return !f.ClearedAt.IsZero() }

// ProtectionTx is the part of Tx that keeps the records of image
// protection. Its errors follow Tx's: NotExist, Exist, stable order.
type ProtectionTx interface {
	// CreateImageKey records a protected image's wrapped data key. The
	// image must exist (NotExist otherwise); Exist if it has a key. The
	// record goes when its image is deleted.
	CreateImageKey(ctx context.Context, k *ImageKey) error
	// ImageKey returns the key record of an image.
	ImageKey(ctx context.Context, id ImageID) (*ImageKey, error)
	// UpdateImageKey replaces the wrapped key of a record, as key rotation
	// does.
	UpdateImageKey(ctx context.Context, k *ImageKey) error
	// ListImageKeys lists at most limit key records whose image id sorts
	// after after ("" for the first), by image id: key rotation walks every
	// record in pages of bounded size this way.
	ListImageKeys(ctx context.Context, after ImageID, limit int) ([]ImageKey, error)

	// ReleaseContext reads, in one statement, the records that a key
	// release by instance of image's key is decided on (see
	// ReleaseContext). A record that is absent is nil, not an error: the
	// caller decides what each absence means. Errors only when the store
	// fails.
	ReleaseContext(ctx context.Context, instance InstanceID, image ImageID) (*ReleaseContext, error)

	// UseNonce records nonce as used until expiresAt. Conflict if it is
	// recorded and its expiry is after now; an expired record is reused.
	UseNonce(ctx context.Context, nonce string, expiresAt, now time.Time) error
	// PurgeNonces deletes the nonces that expired at or before now and
	// returns how many.
	PurgeNonces(ctx context.Context, now time.Time) (int, error)

	// AddStaleBlob records that a blob may be unreferenced: written for a
	// change not yet committed, or replaced by one that was. Exist if it
	// is recorded. The record outlives its image.
	AddStaleBlob(ctx context.Context, b *StaleBlob) error
	// DeleteStaleBlob drops the record of a blob; NotExist if absent, so
	// that of two transactions claiming one record only one succeeds.
	DeleteStaleBlob(ctx context.Context, key string) error
	// StaleBlobs lists at most limit records, oldest first.
	StaleBlobs(ctx context.Context, limit int) ([]StaleBlob, error)

	// PutFingerprint creates or replaces an image's fingerprint. The image
	// must exist; the fingerprint goes with it.
	PutFingerprint(ctx context.Context, f *ImageFingerprint) error
	// ProtectedFingerprints lists the fingerprints of protected images
	// (those with an ImageKey) not owned by owner, by image id.
	ProtectedFingerprints(ctx context.Context, notOwner ProjectID) ([]ImageFingerprint, error)
	// OwnerFingerprints lists the fingerprints of owner's images, protected
	// or not, by image id: the parts that derived-content detection weighs
	// together.
	OwnerFingerprints(ctx context.Context, owner ProjectID) ([]ImageFingerprint, error)

	// CreateFlag flags an image; Exist if it is flagged already. The image
	// must exist; the flag goes with it.
	CreateFlag(ctx context.Context, f *Flag) error
	// Flag returns an image's flag.
	Flag(ctx context.Context, id ImageID) (*Flag, error)
	// UpdateFlag replaces a flag (matched by ImageID).
	UpdateFlag(ctx context.Context, f *Flag) error
	// ListFlags lists flags by creation time, oldest first; cleared ones
	// only if withCleared.
	ListFlags(ctx context.Context, withCleared bool) ([]Flag, error)
}

// StaleBlob names a blob that may not be referenced by its image's record
// (Image.Blob): one written for a change in progress, or the one a change
// replaced. A crash between writing a blob and the transaction that
// switches the record to it leaves such a blob; the catalog's sweep
// removes it once no job holds the image's lease and no record names it.
type StaleBlob struct {
	Key       string // the BlobStore key
	ImageID   ImageID
	CreatedAt time.Time
}

// ReleaseContext is what a key release is decided on, read at once
// (ProtectionTx.ReleaseContext): one statement is one round trip and one
// consistent snapshot, where reading each record on its own was five or
// six. The records that depend on the instance (Member, User,
// Subscription) are those of its project and user, and nil when it is
// absent; those that depend on the image (Member, Offer, Key) nil when the
// image is.
//
// The records hold the fields that a release is decided on, and no
// others (they are zero), because each column read is the store's work on
// every release: Instance its ID, ImageID, ProjectID, UserID and State;
// Image its ID, Owner, Visibility, Blob, Quarantined and ProductCode;
// Member its ImageID, MemberID and Status; User its ID and Role; Offer its
// ID, Owner and ProductCode; Subscription its ID, OfferID, ProjectID and
// State; Key every field. A rule that needs another field reads it here
// first (and in storetest's ReleaseContext case).
type ReleaseContext struct {
	Instance *Instance // nil: no such instance
	Image    *Image    // nil: no such image
	// Member is the instance's project's membership of the image,
	// whatever its status; nil when it has none.
	Member *Member
	// User is the user who launched the instance, whose role decides
	// whether a quarantined image's key may go to it; nil when absent.
	User *User
	// Offer issued the image's product code (Image.ProductCode); nil
	// when the image has none, or no offer issued it.
	Offer *Offer
	// Subscription is the instance's project's active subscription to
	// Offer; nil when it has none (a cancelled one never counts).
	Subscription *Subscription
	Key          *ImageKey // the image's key record; nil when it has none
}
