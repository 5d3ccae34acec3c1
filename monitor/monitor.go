// Package monitor is imgward's detection service: it ingests snapshots
// durably, keeps the unified state of every image and publisher (package
// fleet), learns per-role baselines from trusted publishers, scores every
// instance against its role's baseline and judges images and publishers
// (all three through the scoring pipeline, package detect/pipeline, which
// imgward eval measures), and responds when a publisher's fleet as a
// whole deviates: its images are quarantined,
// the projects running them are told, and everything is audited.
//
// Like catalog, monitor knows nothing of HTTP: errors carry kinds, and api/
// maps them to status codes.
package monitor

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"imgward"
	"imgward/audit"
	"imgward/detect/pipeline"
	"imgward/errors"
	"imgward/fleet"
	"imgward/snapshot"
)

// Defaults of Config.
const (
	DefaultMaxTrainRows      = pipeline.DefaultMaxRows // rows of a baseline's training matrix
	DefaultMinTrainRows      = 10                      // a role with fewer is not learned
	DefaultInstanceThreshold = 4.6                     // surprise: p ≤ 0.01 against the baseline
	DefaultAlpha             = 1e-4                    // false-flag rate of a benign image or publisher
	DefaultMinInstances      = 5                       // scored instances before a publisher is judged
	DefaultFleetSetValues    = 64                      // values of one set folded into the unified state
	idempotencyTTL           = 24 * time.Hour
)

// Config configures a Service; zero fields take the defaults above.
type Config struct {
	Detector          string // a name of detect.Names; "" is the pipeline's default (pipeline.Config)
	Seed              uint64
	MaxTrainRows      int
	InstanceThreshold float64 // an instance is flagged at this surprise
	// Alpha is the false-flag rate per run of a benign image or publisher:
	// its mean surprise over n instances is compared with the 1-Alpha
	// quantile of Gamma(n, 1)/n, what benign instances would give.
	Alpha        float64
	MinInstances int
	// Fleet configures the unified state (weights and strategies per
	// parameter); its zero value folds numbers by weighted mean, weight 1.
	Fleet fleet.Config
	// Webhook, if set, receives every event as a JSON POST.
	Webhook        string
	WebhookTimeout time.Duration // default 5s
	WebhookRetries int           // default 3
}

func (c Config) withDefaults() Config {
	if c.MaxTrainRows <= 0 {
		c.MaxTrainRows = DefaultMaxTrainRows
	}
	if c.InstanceThreshold <= 0 {
		c.InstanceThreshold = DefaultInstanceThreshold
	}
	if c.Alpha <= 0 || c.Alpha >= 1 {
		c.Alpha = DefaultAlpha
	}
	if c.MinInstances <= 0 {
		c.MinInstances = DefaultMinInstances
	}
	if c.WebhookTimeout <= 0 {
		c.WebhookTimeout = 5 * time.Second
	}
	if c.WebhookRetries <= 0 {
		c.WebhookRetries = 3
	}
	return c
}

// Service is the detection service over a Store.
type Service struct {
	store imgward.Store
	cfg   Config
	now   func() time.Time
	log   *slog.Logger
	fleet *fleet.Fleet
	hook  *webhook
	// received numbers ingest batches: two batches of this node that
	// share an instance are numbered in commit order (ingest.go), so a
	// batch's number orders its snapshots in the unified state
	// (fleet.Member.Seq) as the store orders them, whatever order
	// trackBatch runs in.
	received atomic.Uint64
	runMu    sync.Mutex // one detection run at a time; guards fitted
	// fitted keeps the scorer of each baseline version in use, by role
	// and version, so that a run refits only new baselines.
	fitted map[string]*pipeline.Scorer
}

// Option configures a Service.
type Option func(*Service)

// WithClock sets the clock, for tests.
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.log = l } }

// New returns a Service whose unified state is rebuilt from the latest
// snapshots in the store.
func New(ctx context.Context, store imgward.Store, cfg Config, opts ...Option) (*Service, error) {
	s := &Service{store: store, cfg: cfg.withDefaults(), now: time.Now, log: slog.Default(),
		fitted: map[string]*pipeline.Scorer{}}
	for _, o := range opts {
		o(s)
	}
	s.fleet = fleet.New(s.cfg.Fleet)
	if err := s.rebuild(ctx); err != nil {
		return nil, err
	}
	if s.cfg.Webhook != "" {
		s.hook = newWebhook(s.cfg.Webhook, s.cfg.WebhookTimeout, s.cfg.WebhookRetries, s.log)
	}
	return s, nil
}

// Close stops the webhook sender, waiting for what it is sending.
func (s *Service) Close() {
	if s.hook != nil {
		s.hook.close()
	}
}

// Config returns the configuration in force, defaults filled in.
func (s *Service) Config() Config { return s.cfg }

// Tracked returns the number of instances in the unified state.
func (s *Service) Tracked() int { return s.fleet.Instances() }

// rebuild folds the latest snapshot of every running instance into the
// unified state.
func (s *Service) rebuild(ctx context.Context) error {
	err := s.eachLatest(ctx, func(snap *snapshot.Snapshot, r *imgward.SnapshotRecord) {
		s.track(snap, r.ImageID, r.Publisher, 0)
	})
	return errors.Wrap("monitor.rebuild", err)
}

// track folds a snapshot into the unified state, unless one received
// later (a higher seq) is already there. The state is a view the Store can
// rebuild, so a snapshot it cannot take (over a fleet limit) is logged,
// not failed: the batch is already durable.
func (s *Service) track(snap *snapshot.Snapshot, img imgward.ImageID, pub imgward.ProjectID, seq uint64) {
	if pub == "" {
		return // the image is gone; there is no publisher to fold into
	}
	sets := snap.Sets
	total, long := 0, false
	for _, items := range sets {
		total += len(items)
		long = long || len(items) > DefaultFleetSetValues
	}
	if long || total > 256 {
		sets = make(map[string][]string, len(snap.Sets))
		budget := 256
		for name, items := range snap.Sets {
			n := min(len(items), DefaultFleetSetValues, budget)
			sets[name], budget = items[:n], budget-n
		}
	}
	clipped := *snap // keeps the numbers' NumericRow, which fleet.Put reads
	clipped.Sets = sets
	err := s.fleet.Put(fleet.Member{Instance: string(snap.InstanceID), Image: string(img), Publisher: string(pub), Seq: seq},
		&clipped)
	if err != nil {
		s.log.Warn("unified state refused a snapshot", "instance", snap.InstanceID, "err", err)
	}
}

func (s *Service) stamp() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// audit appends an entry within tx.
func (s *Service) audit(ctx context.Context, tx imgward.Tx, p imgward.Principal, action, object, reason string) error {
	return tx.AppendAudit(ctx, &imgward.AuditEntry{Time: s.stamp(), Actor: audit.Actor(p), Action: action,
		Object: object, Result: imgward.ResultOK, Reason: reason})
}

// deny audits a denial in a transaction of its own and returns err.
func (s *Service) deny(ctx context.Context, p imgward.Principal, action, object, reason string, err error) error {
	return audit.Deny(ctx, s.store, s.log, imgward.AuditEntry{Time: s.stamp(), Actor: audit.Actor(p),
		Action: action, Object: object, Reason: reason}, err)
}

// requireAdmin denies, audited, a caller without the admin role.
func (s *Service) requireAdmin(ctx context.Context, p imgward.Principal, op, action, object string) error {
	if p.IsAdmin() {
		return nil
	}
	return s.deny(ctx, p, action, object, "admin role required",
		errors.E(op, errors.Permission, errors.Msg("this needs the admin role")))
}
