package imgward

import (
	"context"
	"strings"
	"time"
)

// This file is the vocabulary of detection: stored snapshots of instances'
// behaviour, baselines learned from trusted publishers, verdicts, the
// events that tell projects about them, and the Store methods that keep
// them (DetectionTx). A snapshot itself is package snapshot's one type
// (docs/SNAPSHOT.md), which imports this package for its ids.

// RoleCollector may post snapshots (POST /v1/snapshots) and nothing else
// beyond its own project: the role of an introspection tool. It is bound
// to hosts (User.Hosts) and may report only instances recorded on them.
const RoleCollector Role = "collector"

// MetaPrefix begins the names of a snapshot's metadata: numbers and sets
// such as a replayed dataset's label ("meta.label") that describe the
// snapshot rather than the instance's behaviour. They are stored and shown
// like any other, but never scored: never a feature of a baseline's model,
// never "novel", so that no label or annotation a collector adds can move
// a verdict.
const MetaPrefix = "meta."

// IsMeta reports whether a numeric or set name is metadata (MetaPrefix).
func IsMeta(name string) bool { return strings.HasPrefix(name, MetaPrefix) }

// SnapshotRecord is a stored snapshot: the latest one of an instance, as
// its v1 JSON line, with the number of snapshots the instance sent.
type SnapshotRecord struct {
	InstanceID InstanceID
	TakenAt    time.Time
	ReceivedAt time.Time
	Source     string
	Body       []byte // the snapshot as one v1 JSON object
	Count      int64  // snapshots received for the instance; set by the store
	// ImageID and Publisher are filled by LatestSnapshots from the
	// instance and its image; ignored by PutSnapshots.
	ImageID   ImageID
	Publisher ProjectID
}

// InstanceRef is what ingest needs of an instance: its state and where it
// belongs. Publisher is "" when the image no longer exists.
type InstanceRef struct {
	ID        InstanceID
	ImageID   ImageID
	ProjectID ProjectID
	Publisher ProjectID
	State     InstanceState
	Host      string // the hypervisor host recorded at launch, if any
}

// Baseline is a versioned model of normal behaviour for one image role,
// learned from the latest snapshots of trusted publishers' instances.
type Baseline struct {
	Role      string
	Version   int // 1, 2, 3... per role; assigned by the store
	Detector  string
	Rows      int // training rows
	CreatedAt time.Time
	// Model is what scoring needs, as JSON (see package monitor): the
	// feature names, the training matrix and the set vocabularies.
	// ListBaselines leaves it nil.
	Model []byte
}

// VerdictKind is what a verdict judges.
type VerdictKind string

// The verdict kinds.
const (
	VerdictInstance  VerdictKind = "instance"
	VerdictImage     VerdictKind = "image"
	VerdictPublisher VerdictKind = "publisher"
)

// VerdictState is where a verdict stands.
type VerdictState string

// The verdict states. A cleared verdict stays cleared until a later run
// flags the subject again.
const (
	VerdictOK      VerdictState = "ok"      // judged, under the threshold
	VerdictFlagged VerdictState = "flagged" // over the threshold
	VerdictCleared VerdictState = "cleared" // flagged, then cleared by an admin
)

// Verdict is the latest judgement of an instance, image or publisher.
type Verdict struct {
	Kind        VerdictKind
	Subject     string // the instance, image or project id
	Score       float64
	Threshold   float64
	Instances   int    // instances the score rests on
	Explanation []byte // JSON: the most deviant parameters
	State       VerdictState
	ClearedBy   UserID
	UpdatedAt   time.Time
	// Uncapped is Score without the cap on one instance's surprise: it
	// keeps growing as a fleet turns worse after Score has stopped.
	Uncapped float64
	// ClearedScore is, for a publisher an admin cleared, the Uncapped score it
	// was cleared at; a later run flags it again only beyond it (see
	// package monitor). 0 for a verdict never cleared.
	ClearedScore float64
}

// Event tells a project about something that concerns it, such as a
// publisher of images it runs being flagged.
type Event struct {
	ID        int64 // assigned by the store, increasing
	ProjectID ProjectID
	Kind      string // such as "publisher.flagged"
	Payload   []byte // JSON
	CreatedAt time.Time
}

// DetectionTx is the part of Tx that keeps detection's records.
type DetectionTx interface {
	// InstanceRefs returns the instances among ids that exist, in any
	// order, each with its image's owner.
	InstanceRefs(ctx context.Context, ids []InstanceID) ([]InstanceRef, error)
	// PutSnapshots records each snapshot as its instance's latest and
	// counts it: the latest is the one received last (the last of recs,
	// then of the batches in commit order), whatever its TakenAt, which is
	// the collector's to set and so no measure of what is newest.
	PutSnapshots(ctx context.Context, recs []SnapshotRecord) error
	// LatestSnapshots lists the latest snapshots of running instances, by
	// instance id, after the given id, at most limit (0: no limit).
	LatestSnapshots(ctx context.Context, after InstanceID, limit int) ([]SnapshotRecord, error)

	// IdempotentResult returns the record stored under (user, key);
	// NotExist when there is none.
	IdempotentResult(ctx context.Context, user UserID, key string) (*IdempotentRecord, error)
	// PutIdempotentResult stores rec under (user, key) and forgets the
	// keys created before expire; Exist when (user, key) is taken.
	PutIdempotentResult(ctx context.Context, user UserID, key string, rec IdempotentRecord, at, expire time.Time) error

	// SetImageRole sets an image's role; "" removes it.
	SetImageRole(ctx context.Context, img ImageID, role string) error
	// ImageRoles maps every image with a role to its role.
	ImageRoles(ctx context.Context) (map[ImageID]string, error)
	// SetPublisherTrust marks a project trusted or not.
	SetPublisherTrust(ctx context.Context, p ProjectID, trusted bool, at time.Time) error
	// TrustedPublishers lists the trusted projects, sorted.
	TrustedPublishers(ctx context.Context) ([]ProjectID, error)

	// PutBaseline stores b as the next version of its role and sets
	// b.Version.
	PutBaseline(ctx context.Context, b *Baseline) error
	// LatestBaselines returns the newest baseline of every role, with
	// their models.
	LatestBaselines(ctx context.Context) ([]Baseline, error)
	// ListBaselines lists every version of every role, by role and
	// version, without models.
	ListBaselines(ctx context.Context) ([]Baseline, error)

	// PutVerdict creates or replaces the verdict on (v.Kind, v.Subject).
	PutVerdict(ctx context.Context, v *Verdict) error
	// Verdict returns the verdict on a subject; NotExist when none.
	Verdict(ctx context.Context, kind VerdictKind, subject string) (*Verdict, error)
	// ListVerdicts lists the verdicts of a kind, highest score first.
	ListVerdicts(ctx context.Context, kind VerdictKind) ([]Verdict, error)

	// AppendEvent stores e and sets e.ID.
	AppendEvent(ctx context.Context, e *Event) error
	// ListEvents lists up to limit events with ID > after, of one project
	// ("" for all), in ID order; limit 0 means no limit.
	ListEvents(ctx context.Context, project ProjectID, after int64, limit int) ([]Event, error)

	// SetQuarantine quarantines (or releases) every image owned by a
	// project and returns their ids, sorted.
	SetQuarantine(ctx context.Context, owner ProjectID, on bool) ([]ImageID, error)
	// ImageQuarantined reports whether an image is quarantined; NotExist
	// when the image does not exist.
	ImageQuarantined(ctx context.Context, id ImageID) (bool, error)
}

// IdempotentRecord is what a request with an Idempotency-Key left behind:
// the SHA-256 of its body, so that the key reused with another body is
// told apart from a retry, and its result, which a retry is answered.
// BodyHash is empty for a record stored before the hash was kept.
type IdempotentRecord struct {
	BodyHash []byte
	Result   []byte
}
