package imgward

import (
	"context"
	"io"
	"time"
)

// ProjectID names a project (an OpenStack tenant): 32 lowercase hex digits,
// as Keystone writes them.
type ProjectID string

// UserID names a user: 32 lowercase hex digits.
type UserID string

// ImageID names an image: a UUID in its canonical 36-character form.
type ImageID string

// InstanceID names an instance: "i-" followed by 16 lowercase hex digits.
type InstanceID string

// Role is what a user may do beyond its own project.
type Role string

// The roles.
const (
	RoleAdmin  Role = "admin"  // manages projects, users, publishers; sees everything
	RoleMember Role = "member" // acts within its own project
)

// Project is a tenant: it owns images and runs instances.
type Project struct {
	ID        ProjectID
	Name      string
	CreatedAt time.Time
}

// User acts for one project. Its API token is kept only as a SHA-256 hash.
type User struct {
	ID        UserID
	Name      string
	ProjectID ProjectID
	Role      Role
	TokenHash []byte // SHA-256 of the token; never shown, compared in constant time
	// Hosts are the hypervisor hosts a collector may report for: it may
	// post snapshots only of instances recorded on one of them. Empty for
	// other roles, and for a collector that may report for none.
	Hosts     []string
	CreatedAt time.Time
	// Disabled users are refused with any of their tokens, at once.
	Disabled bool
}

// Token is one of a user's API tokens. Only its SHA-256 is kept; ID is the
// first 16 hex digits of that hash, which names the token in lists and
// revocations without revealing anything of the secret.
type Token struct {
	ID        string
	Hash      []byte
	UserID    UserID
	CreatedAt time.Time
	ExpiresAt time.Time // zero: never expires
	RevokedAt time.Time // zero: not revoked
}

// Principal is an authenticated caller.
type Principal struct {
	UserID    UserID
	ProjectID ProjectID
	Role      Role
	Hosts     []string // a collector's hosts (User.Hosts)
}

// IsAdmin reports whether the caller has the admin role.
func (p Principal) IsAdmin() bool { return p.Role == RoleAdmin }

// Publisher describes the project behind shared, public or community
// images, so that a consumer sees who published an image and not only an
// opaque account id. Only an admin sets Verified.
type Publisher struct {
	ProjectID   ProjectID
	DisplayName string
	Description string
	Contact     string
	Verified    bool
	UpdatedAt   time.Time
}

// Visibility says who may see and use an image (Glance v2).
type Visibility string

// The visibilities.
const (
	Public    Visibility = "public"    // everyone; listed by default
	Private   Visibility = "private"   // the owner only
	Shared    Visibility = "shared"    // the owner and the image's accepted members
	Community Visibility = "community" // everyone, but listed only on request
)

// Valid reports whether v is one of the four visibilities.
func (v Visibility) Valid() bool {
	switch v {
	case Public, Private, Shared, Community:
		return true
	}
	return false
}

// ImageStatus is the life-cycle state of an image (Glance v2).
type ImageStatus string

// The image statuses imgward uses.
const (
	StatusQueued  ImageStatus = "queued"  // created, no data yet
	StatusSaving  ImageStatus = "saving"  // data is being uploaded
	StatusActive  ImageStatus = "active"  // data uploaded and verified
	StatusKilled  ImageStatus = "killed"  // an upload failed beyond repair
	StatusDeleted ImageStatus = "deleted" // never returned; deleted images are gone
)

// Image is a catalog entry. Size, checksum and hashes are set when its data
// has been uploaded.
type Image struct {
	ID              ImageID
	Name            string
	Owner           ProjectID
	Status          ImageStatus
	Visibility      Visibility
	Protected       bool // may not be deleted while set
	DiskFormat      string
	ContainerFormat string
	MinDisk         int // GiB
	MinRAM          int // MiB
	Size            int64
	Checksum        string // MD5 hex of the data, as Glance reports it
	OSHashAlgo      string // "sha512" once data is uploaded
	OSHashValue     string
	Tags            []string
	Properties      map[string]string // custom properties, strings as in Glance
	CreatedAt       time.Time
	UpdatedAt       time.Time
	// Quarantined is set while the owner is a flagged publisher (package
	// monitor, DetectionTx.SetQuarantine): its data and keys go to nobody
	// but the owner and admins. Read-only: UpdateImage does not write it.
	Quarantined bool
	// Blob is the BlobStore key of the image's data when it is not the
	// image's id: data rewritten after the upload (an unprotected image
	// sealed when it is offered) goes to a new key, and the record switches
	// to it in the transaction that records the change, so that record and
	// data never disagree. Use BlobKey.
	Blob string
	// ProductCode is the product code the image carries (PaidTx
	// SetProductCode), read with the image so that a launch learns it
	// without another query; "" for none. Read-only: UpdateImage does not
	// write it.
	ProductCode ProductCode
}

// BlobKey returns the BlobStore key of the image's data.
func (img *Image) BlobKey() string {
	if img.Blob != "" {
		return img.Blob
	}
	return string(img.ID)
}

// MemberStatus is the state of a member's acceptance of a shared image.
type MemberStatus string

// The member statuses. Only an accepted member may use the image.
const (
	MemberPending  MemberStatus = "pending"
	MemberAccepted MemberStatus = "accepted"
	MemberRejected MemberStatus = "rejected"
)

// Valid reports whether s is one of the three member statuses.
func (s MemberStatus) Valid() bool {
	switch s {
	case MemberPending, MemberAccepted, MemberRejected:
		return true
	}
	return false
}

// Member is a project that an image's owner shared the image with.
type Member struct {
	ImageID   ImageID
	MemberID  ProjectID
	Status    MemberStatus
	CreatedAt time.Time
	UpdatedAt time.Time
}

// InstanceState is the life-cycle state of an instance.
type InstanceState string

// The instance states.
const (
	InstanceRunning    InstanceState = "running"
	InstanceTerminated InstanceState = "terminated"
)

// Instance is a recorded launch of an image.
type Instance struct {
	ID           InstanceID
	ImageID      ImageID
	ProjectID    ProjectID // the project that launched it
	UserID       UserID    // the user that launched it
	Host         string    // the hypervisor host, if known
	State        InstanceState
	CreatedAt    time.Time
	TerminatedAt time.Time // zero while running
}

// AuditEntry is one record of the append-only audit log, a transparency
// log: Hash is SHA-256 over the entry's fields (see package audit), and each
// entry is a leaf of a Merkle tree whose signed checkpoints anchor the log.
type AuditEntry struct {
	Seq    int64 // unique and increasing in append order, assigned by the store
	Time   time.Time
	Actor  string // user id, or "system"
	Action string // such as "image.create", "member.update", "instance.launch"
	Object string // such as "image/<id>", "image/<id>/member/<project>"
	Result string // "ok" or "denied"
	Reason string // why it was denied, or a detail of the change
	Prev   []byte // hash version 1 only: Hash of entry Seq-1; nil in version 2
	Hash   []byte
	// Leaf is the entry's position in the Merkle tree, counted from 1; 0
	// until the entry is integrated (Tx.IntegrateAudit).
	Leaf int64
}

// The results of an audited action.
const (
	ResultOK     = "ok"
	ResultDenied = "denied"
)

// ImageFilter selects images for a listing, with Glance v2 semantics.
type ImageFilter struct {
	// Viewer is the project that lists; images it may not see are never
	// returned. Admin sees all images.
	Viewer ProjectID
	Admin  bool
	// Visibility, when set, keeps only that visibility. When empty, the
	// listing holds public, the viewer's own, and shared images of which
	// the viewer is a member with MemberStatus (Glance's default; community
	// images appear only when asked for).
	Visibility Visibility
	// MemberStatus filters shared images by the viewer's membership:
	// pending, accepted, rejected, or "all". Empty means accepted.
	MemberStatus string
	Owner        ProjectID
	Name         string
	Status       ImageStatus
	// Tags keeps only images that carry every one of these tags.
	Tags []string
	// Sort orders the listing by these keys in turn; the store appends
	// created_at and id (descending) where they are missing, so that the
	// order is total. Empty means created_at descending, then id descending.
	Sort []SortKey
	// Marker is the id of the last image of the previous page; the listing
	// continues after it in the order of Sort.
	Marker ImageID
	Limit  int // at most this many; 0 means no limit
}

// SortKey is one key of a listing's order: an image attribute of
// SortAttrs, ascending unless Desc.
type SortKey struct {
	Attr string
	Desc bool
}

// SortAttrs are the attributes a listing may be sorted by: Glance's
// sortable core attributes that imgward keeps.
var SortAttrs = []string{"name", "status", "container_format", "disk_format", "size", "id",
	"created_at", "updated_at", "min_disk", "min_ram", "owner", "visibility", "protected"}

// InstanceFilter selects instances for a listing.
type InstanceFilter struct {
	ImageID   ImageID   // only instances of this image
	Publisher ProjectID // only instances of images owned by this project
	ProjectID ProjectID // only instances launched by this project
	State     InstanceState
}

// Store keeps imgward's records. Every read and write happens in a
// transaction, so that a state change and its audit entry commit together or
// not at all. Implementations: store/sqlite, store/postgres.
type Store interface {
	// View runs fn in a read-only transaction.
	View(ctx context.Context, fn func(Tx) error) error
	// Update runs fn in a read-write transaction and commits it if fn
	// returns nil; otherwise it rolls back and returns fn's error. Update
	// may call fn more than once when a serialization conflict forces a
	// retry, so fn must not have effects outside the transaction.
	Update(ctx context.Context, fn func(Tx) error) error
	// Close releases the store's resources.
	Close() error
}

// HotUpdater is a Store that runs the writes of the hot paths (launch, key
// release, snapshot ingest, audit appends) apart from the others, so that
// they need not wait for one another across nodes. store/postgres is one;
// a Store that is not (store/sqlite, whose one writer serializes every
// write anyway) runs them as Update. Call UpdateHot rather than this.
type HotUpdater interface {
	// UpdateHot is Update for a transaction that writes only:
	//   - new rows under keys of its own (an instance, an audit entry),
	//   - or rows whose conflicts with other hot transactions a
	//     constraint or a row lock of the statement settles (a nonce spent
	//     once, an idempotency key, the latest snapshot of an instance);
	// and that writes nothing another transaction's rule reads (a
	// membership, a quarantine, a subscription). It may run at the same
	// time as other hot transactions, never with an Update: an Update
	// waits for the hot transactions under way and holds later ones off
	// until it commits, so a hot transaction sees every rule as committed
	// by the Updates before it, and an Update's rule binds every hot
	// transaction that commits after it.
	UpdateHot(ctx context.Context, fn func(Tx) error) error
}

// OneReader is a Store that can run a read of exactly one statement
// outside a transaction: one statement sees one consistent snapshot by
// itself, and store/postgres then needs one round trip instead of three
// (BEGIN, the statement, COMMIT). Call ViewOne rather than this.
type OneReader interface {
	// ViewOne runs fn, which must run one read statement (one Tx method
	// that reads one statement, such as UserByTokenHash): a write fails
	// and commits nothing, and a second statement makes ViewOne fail
	// with kind Internal, a bug of the caller.
	ViewOne(ctx context.Context, fn func(Tx) error) error
}

// ViewOne runs fn, a read of one statement, on s without a transaction
// when s can (see OneReader), else as a View.
func ViewOne(ctx context.Context, s Store, fn func(Tx) error) error {
	if o, ok := s.(OneReader); ok {
		return o.ViewOne(ctx, fn)
	}
	return s.View(ctx, fn)
}

// UpdateHot runs fn as a hot-path write on s (see HotUpdater), or as an
// Update when s runs every write alike.
func UpdateHot(ctx context.Context, s Store, fn func(Tx) error) error {
	if h, ok := s.(HotUpdater); ok {
		return h.UpdateHot(ctx, fn)
	}
	return s.Update(ctx, fn)
}

// Tx is a transaction of a Store. Methods that look up one record return an
// error of kind NotExist when it is absent; methods that create return kind
// Exist when the key is taken. Lists return records in a stable order.
type Tx interface {
	DetectionTx  // snapshots, baselines, verdicts, events (detection.go)
	ProtectionTx // protection.go
	PaidTx       // paid.go
	ClusterTx    // leases and shared keys (cluster.go)
	CreateProject(ctx context.Context, p *Project) error
	Project(ctx context.Context, id ProjectID) (*Project, error)
	ListProjects(ctx context.Context) ([]Project, error)

	CreateUser(ctx context.Context, u *User) error
	User(ctx context.Context, id UserID) (*User, error)
	// UserByTokenHash finds the token that hashes to h and its user, in
	// one indexed lookup. Revoked and expired tokens are returned too: the
	// caller decides.
	UserByTokenHash(ctx context.Context, h []byte) (*User, *Token, error)
	// ListUsers lists the users of a project, or of all projects when
	// project is "", oldest first.
	ListUsers(ctx context.Context, project ProjectID) ([]User, error)
	// SetUserDisabled disables or enables a user.
	SetUserDisabled(ctx context.Context, id UserID, disabled bool) error
	// CreateToken stores a new token of an existing user.
	CreateToken(ctx context.Context, t *Token) error
	// ListTokens lists a user's tokens, revoked ones included, oldest first.
	ListTokens(ctx context.Context, user UserID) ([]Token, error)
	// RevokeToken marks the user's token id revoked at the given time; a
	// token already revoked keeps its first time. NotExist when the user
	// has no such token.
	RevokeToken(ctx context.Context, user UserID, id string, at time.Time) error
	// CountAdmins counts users with the admin role.
	CountAdmins(ctx context.Context) (int, error)

	// PutPublisher creates or replaces a publisher profile.
	PutPublisher(ctx context.Context, p *Publisher) error
	Publisher(ctx context.Context, id ProjectID) (*Publisher, error)

	CreateImage(ctx context.Context, img *Image) error
	Image(ctx context.Context, id ImageID) (*Image, error)
	// UpdateImage replaces the stored image with img (matched by ID).
	UpdateImage(ctx context.Context, img *Image) error
	// DeleteImage removes the image and its members.
	DeleteImage(ctx context.Context, id ImageID) error
	ListImages(ctx context.Context, f ImageFilter) ([]Image, error)
	// ImagesInStatus lists images with the given status, oldest first.
	ImagesInStatus(ctx context.Context, s ImageStatus) ([]Image, error)

	CreateMember(ctx context.Context, m *Member) error
	Member(ctx context.Context, img ImageID, member ProjectID) (*Member, error)
	// ImageMember reads an image and project's membership of it (nil if
	// none) in one statement, as a launch reads them. NotExist if the
	// image does not exist.
	ImageMember(ctx context.Context, id ImageID, project ProjectID) (*Image, *Member, error)
	// TokenImageMember is UserByTokenHash and then ImageMember for the
	// token's user's project, in one statement, as a launch authenticated
	// by its token reads them (catalog.LaunchWithToken). NotExist if the
	// token or the image does not exist: the caller that must tell the
	// two apart asks again, one by one.
	TokenImageMember(ctx context.Context, h []byte, id ImageID) (*User, *Token, *Image, *Member, error)
	// ListMembers lists the members of an image by creation time.
	ListMembers(ctx context.Context, img ImageID) ([]Member, error)
	UpdateMember(ctx context.Context, m *Member) error
	DeleteMember(ctx context.Context, img ImageID, member ProjectID) error

	CreateInstance(ctx context.Context, in *Instance) error
	Instance(ctx context.Context, id InstanceID) (*Instance, error)
	UpdateInstance(ctx context.Context, in *Instance) error
	// ListInstances lists instances by creation time, newest first.
	ListInstances(ctx context.Context, f InstanceFilter) ([]Instance, error)

	// AppendAudit appends e to the audit log: the store assigns Seq and
	// Prev under a lock that serializes appends across all nodes, then
	// seals e with audit.Seal. The entry commits with the transaction.
	AppendAudit(ctx context.Context, e *AuditEntry) error
	// ListAudit lists up to limit entries with Seq > after, in Seq order.
	ListAudit(ctx context.Context, after int64, limit int) ([]AuditEntry, error)
	// ListAuditLeaves lists up to limit integrated entries with Leaf >
	// after, in Leaf order: the order of the Merkle tree.
	ListAuditLeaves(ctx context.Context, after int64, limit int) ([]AuditEntry, error)
	// IntegrateAudit gives up to max entries that have no Leaf yet the
	// next leaves, in Seq order, stores the tree hashes they add and
	// returns the tree's size and how many entries it added. Integrations
	// exclude one another (a lock of their own); appends never wait for
	// them. In a write transaction.
	IntegrateAudit(ctx context.Context, max int) (size int64, added int, err error)
	// AuditTreeSize returns the number of integrated entries.
	AuditTreeSize(ctx context.Context) (int64, error)
	// AuditHashes reads stored hashes of the audit tree by their
	// golang.org/x/mod/sumdb/tlog stored-hash index; NotExist if one is
	// missing.
	AuditHashes(ctx context.Context, indexes []int64) ([][]byte, error)
}

// BlobInfo describes stored image data.
type BlobInfo struct {
	Size   int64
	MD5    string // hex
	SHA512 string // hex
}

// BlobStore keeps image bytes. A Put is all or nothing: the data becomes
// visible under its key only once it is complete and synced to disk.
type BlobStore interface {
	// Put stores r under key, reading at most max bytes; more is an error of
	// kind TooLarge and stores nothing. An error from r stores nothing.
	Put(ctx context.Context, key string, r io.Reader, max int64) (BlobInfo, error)
	// Open opens the data under key; NotExist when absent.
	Open(ctx context.Context, key string) (io.ReadSeekCloser, int64, error)
	// Delete removes the data under key; deleting what is absent is no error.
	Delete(ctx context.Context, key string) error
}
