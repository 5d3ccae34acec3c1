package imgward

import (
	"context"
	"time"
)

// Several imgward nodes may share one store (PostgreSQL). What they must
// agree on lives in it: the master key ring of the local KMS (wrapped by a
// key-encryption key every node is given), the identity signing keys
// (wrapped by the KMS), and leases, which make a job run on one node at a
// time (a key rotation) or tell the others that a node still works on
// something (an upload).

// Lease is a claim on a named job, held by one node until ExpiresAt.
// A holder renews it before then; once it has expired any node may take it.
type Lease struct {
	Name      string
	Owner     string // the holding node
	ExpiresAt time.Time
}

// MasterKeyVersion is one version of a master key of the local KMS in its
// shared form: the key material wrapped by the cluster's key-encryption key.
type MasterKeyVersion struct {
	KeyID     KeyID
	Version   uint32
	Wrapped   []byte // nonce || AES-256-GCM(kek, key); see kms/local
	CreatedAt time.Time
}

// IdentityKey is an Ed25519 key of the identity key ring in its shared
// form. Only the current key keeps its private half: Seed is its seed
// wrapped by the KMS; the others have a zero Seed and only verify.
type IdentityKey struct {
	KID       string
	Public    []byte
	Seed      WrappedKey // zero once the key is no longer current
	CreatedAt time.Time
	Current   bool
}

// ClusterTx is the part of Tx that keeps what several nodes share. Its
// errors follow Tx's.
type ClusterTx interface {
	// TakeLease takes or renews lease name for owner until expires. It is
	// Conflict while another owner holds a lease that has not expired at
	// now. One statement, so that two nodes taking it at once cannot both
	// succeed.
	TakeLease(ctx context.Context, name, owner string, expires, now time.Time) error
	// Lease returns a lease, expired or not.
	Lease(ctx context.Context, name string) (*Lease, error)
	// ReleaseLease drops lease name if owner holds it; otherwise it does
	// nothing.
	ReleaseLease(ctx context.Context, name, owner string) error

	// MasterKeyVersions lists the versions of master key id, oldest first;
	// an empty list when there are none.
	MasterKeyVersions(ctx context.Context, id KeyID) ([]MasterKeyVersion, error)
	// CreateMasterKeyVersion records a version; Exist if it is taken.
	CreateMasterKeyVersion(ctx context.Context, v *MasterKeyVersion) error
	// DeleteMasterKeyVersion destroys a version; NotExist if absent.
	DeleteMasterKeyVersion(ctx context.Context, id KeyID, version uint32) error

	// IdentityKeys lists the identity key ring, newest first.
	IdentityKeys(ctx context.Context) ([]IdentityKey, error)
	// PutIdentityKey creates or replaces the key k.KID. When k is current,
	// every other key stops being current and loses its private half.
	PutIdentityKey(ctx context.Context, k *IdentityKey) error
	// DeleteIdentityKey removes a key; NotExist if absent.
	DeleteIdentityKey(ctx context.Context, kid string) error
}

// IdentitySeedAD is the additional data of an identity signing key's seed
// wrapped by the KMS, so that no image key can pass for it.
const IdentitySeedAD = "imgward-identity-seed-v1"
