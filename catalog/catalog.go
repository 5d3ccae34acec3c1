// Package catalog holds imgward's sharing rules: who may see, change, share
// and launch an image; the member state machine in which acceptance gates
// use; the image life cycle of a Glance v2 catalog. Every change and every
// denial is written to the audit log in the same transaction as the change
// (a denial in a transaction of its own, since the change rolls back).
//
// catalog speaks imgward's vocabulary and knows nothing of HTTP: errors carry
// kinds (errors.NotExist for what the caller may not know exists,
// errors.Permission for what it knows but may not do), and api/ maps them.
package catalog

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"time"

	"imgward"
	"imgward/audit"
	"imgward/errors"
	"imgward/fingerprint"
)

// Defaults, as Glance configures them.
const (
	DefaultMemberQuota   = 128     // image_member_quota
	DefaultPropertyQuota = 128     // image_property_quota
	DefaultTagQuota      = 128     // image_tag_quota
	DefaultMaxImageSize  = 1 << 40 // image_size_cap: 1 TiB
)

// Service applies the sharing rules over a Store and a BlobStore.
type Service struct {
	store  imgward.Store
	blobs  imgward.BlobStore
	now    func() time.Time
	log    *slog.Logger
	limits Limits
	prot   protection    // protect.go
	signer *audit.Signer // auditlog.go; nil: no checkpoints
	node   node          // lease.go
}

// Limits are the quotas of a catalog; zero fields take the defaults.
type Limits struct {
	Members      int   // members per image
	Properties   int   // custom properties per image
	Tags         int   // tags per image
	MaxImageSize int64 // bytes of image data
}

// Option configures a Service.
type Option func(*Service)

// WithClock sets the clock, for tests.
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.log = l } }

// WithLimits sets the quotas.
func WithLimits(l Limits) Option { return func(s *Service) { s.limits = l } }

// New returns a Service over the given stores.
func New(store imgward.Store, blobs imgward.BlobStore, opts ...Option) *Service {
	s := &Service{store: store, blobs: blobs, now: time.Now, log: slog.Default()}
	for _, o := range opts {
		o(s)
	}
	if s.prot.threshold <= 0 {
		s.prot.threshold = DefaultDerivedThreshold
	}
	if s.prot.rule == (fingerprint.Rule{}) {
		s.prot.rule = fingerprint.DefaultRule
	}
	if s.limits.Members <= 0 {
		s.limits.Members = DefaultMemberQuota
	}
	if s.limits.Properties <= 0 {
		s.limits.Properties = DefaultPropertyQuota
	}
	if s.limits.Tags <= 0 {
		s.limits.Tags = DefaultTagQuota
	}
	if s.limits.MaxImageSize <= 0 {
		s.limits.MaxImageSize = DefaultMaxImageSize
	}
	if s.node.name == "" {
		WithNode("node", 0)(s)
	}
	if s.node.period <= 0 {
		s.node.period = DefaultLeasePeriod
	}
	return s
}

// Limits returns the quotas in force.
func (s *Service) Limits() Limits { return s.limits }

func (s *Service) stamp() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// audit appends an entry within tx.
func (s *Service) audit(ctx context.Context, tx imgward.Tx, p imgward.Principal, action, object, reason string) error {
	return tx.AppendAudit(ctx, &imgward.AuditEntry{
		Time: s.stamp(), Actor: audit.Actor(p), Action: action, Object: object,
		Result: imgward.ResultOK, Reason: reason,
	})
}

// deny records a denial in a transaction of its own and returns err, the
// error the caller sees. The reason in the log may say more than err does
// (a stranger is told "not found"; the log says why).
func (s *Service) deny(ctx context.Context, p imgward.Principal, action, object, reason string, err error) error {
	return audit.Deny(ctx, s.store, s.log, imgward.AuditEntry{Time: s.stamp(), Actor: audit.Actor(p),
		Action: action, Object: object, Reason: reason}, err)
}

// denial is an error that carries its audit reason, so that rules decided
// inside a transaction can be audited after it rolls back.
type denial struct {
	action, object, reason string
	err                    error
}

func (d *denial) Error() string { return d.err.Error() }
func (d *denial) Unwrap() error { return d.err }

func denied(action, object, reason string, err error) error {
	return &denial{action: action, object: object, reason: reason, err: err}
}

// finish audits err if it is a denial and returns the error the caller
// should see.
func (s *Service) finish(ctx context.Context, p imgward.Principal, err error) error {
	var d *denial
	if errors.As(err, &d) {
		return s.deny(ctx, p, d.action, d.object, d.reason, d.err)
	}
	return err
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func imageObject(id imgward.ImageID) string { return "image/" + string(id) }

func memberObject(id imgward.ImageID, m imgward.ProjectID) string {
	return "image/" + string(id) + "/member/" + string(m)
}
