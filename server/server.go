// Package server assembles imgward: it opens the store and the blob store
// chosen by name, builds the catalog over them, recovers what a crash left
// behind, creates the first admin, and returns the HTTP handler. The binary
// (cmd/imgward serve), the end-to-end tests and the benchmarks all start
// imgward through it, so that they run the same service.
package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"imgward"
	"imgward/api"
	"imgward/broker"
	"imgward/catalog"
	"imgward/errors"
	"imgward/identity"
	"imgward/internal/securefile"
	"imgward/keystone"
	"imgward/monitor"
	"imgward/store/postgres"
	"imgward/store/sqlite"
	"imgward/web"
)

// Config is what the service is started with.
type Config struct {
	DataDir string // the embedded store, blobs and admin.token live here
	Store   string // a name in Stores
	DSN     string // for postgres
	BlobDir string // default DataDir/blobs; shared storage when several nodes run
	// Blob, when set, is the URL of the blob store instead of BlobDir: a
	// scheme of BlobStores, such as s3://bucket?endpoint=URL.
	Blob string
	// Getenv is where backends read their secrets, such as the object
	// store's credentials; nil for os.Getenv.
	Getenv func(string) string
	Limits catalog.Limits // quotas; zero fields take Glance's defaults
	Sync   string         // sqlite: "normal" (survives a process crash) or "full" (survives power loss)
	Logger *slog.Logger
	// Detect configures detection: baselines, thresholds, the webhook.
	Detect monitor.Config
	// DetectEvery, when positive, runs detection periodically.
	DetectEvery time.Duration
	// Protection chooses the KMS and tunes derived-image detection
	// (protect.go). Identity signing keys live in DataDir/identity.
	Protection Protection
	// Upload bounds the rate and duration of upload bodies, so that a
	// stalled upload ends and frees what it holds (api.UploadLimits;
	// zero fields take the defaults).
	Upload api.UploadLimits
	// Audit configures the audit log's tree and signed checkpoints
	// (auditlog.go).
	Audit Audit
	Now   func() time.Time // the clock; nil for time.Now (tests set it)
	// Node names this node among those sharing the store and the blob
	// directory; default: the host name and a hash of DataDir, stable
	// across restarts (cluster.go).
	Node string
	// LeasePeriod is how long a lease of this node lives unrenewed: an
	// upload cut by its crash is queued again within about this long
	// (default catalog.DefaultLeasePeriod).
	LeasePeriod time.Duration
	// Keystone, if set, validates OpenStack tokens (api.WithKeystone),
	// with KeystoneRoles mapping Keystone's roles to imgward's.
	Keystone      *keystone.Config
	KeystoneRoles api.KeystoneRoles
}

// opener opens a store backend.
type opener func(ctx context.Context, cfg Config) (imgward.Store, error)

// Stores are the store backends, by the name --store takes.
var Stores = map[string]opener{
	"sqlite": func(ctx context.Context, cfg Config) (imgward.Store, error) {
		return sqlite.OpenOptions(ctx, filepath.Join(cfg.DataDir, "imgward.db"), sqlite.Options{Sync: sqlite.Sync(cfg.Sync)})
	},
	"postgres": func(ctx context.Context, cfg Config) (imgward.Store, error) {
		if cfg.DSN == "" {
			return nil, errors.E(errors.Invalid, errors.Msg("the postgres store needs --dsn"))
		}
		return postgres.Open(ctx, cfg.DSN)
	},
}

// StoreNames lists the store backends.
func StoreNames() []string {
	var ns []string
	for n := range Stores {
		ns = append(ns, n)
	}
	slices.Sort(ns)
	return ns
}

// Service is a running imgward.
type Service struct {
	Handler http.Handler
	Catalog *catalog.Service
	Store   imgward.Store
	Monitor *monitor.Service
	Keys    imgward.KeyService
	Issuer  *identity.Issuer
	// AdminToken is the first admin's token when this start created it,
	// else "". It is also written to DataDir/admin.token.
	AdminToken string
	closeOnce  sync.Once
	stop       context.CancelFunc // of the periodic detection, audit integration and upload recovery
	loops      sync.WaitGroup     // the periodic jobs, waited for by Close
}

// Open starts imgward's parts from cfg.
func Open(ctx context.Context, cfg Config) (*Service, error) {
	const op = "server.Open"
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.DataDir == "" {
		return nil, errors.E(op, errors.Invalid, errors.Msg("a data directory is required"))
	}
	open, ok := Stores[cfg.Store]
	if !ok {
		return nil, errors.E(op, errors.Invalid, errors.Msg(fmt.Sprintf("unknown store %q: choose %s", cfg.Store, strings.Join(StoreNames(), " or "))))
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, errors.E(op, errors.Invalid, errors.Msg("cannot create the data directory"), err)
	}
	if cfg.Node == "" {
		cfg.Node = defaultNode(cfg.DataDir)
	}
	blobs, err := openBlobs(ctx, cfg)
	if err != nil {
		return nil, errors.E(op, err)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Protection.KeyID == "" {
		cfg.Protection.KeyID = catalog.DefaultKeyID
	}
	st, err := open(ctx, cfg)
	if err != nil {
		return nil, errors.E(op, err)
	}
	keys, issuer, err := openKeys(ctx, cfg, st)
	if err != nil {
		st.Close()
		return nil, errors.E(op, err)
	}
	closeAll := func() {
		issuer.Close()
		keys.Close()
		st.Close()
	}
	signer, err := auditSigner(ctx, &cfg, keys)
	if err != nil {
		closeAll()
		return nil, errors.E(op, err)
	}
	catOpts := []catalog.Option{catalog.WithLogger(cfg.Logger), catalog.WithLimits(cfg.Limits),
		catalog.WithClock(cfg.Now), catalog.WithKeys(keys, cfg.Protection.KeyID), catalog.WithAuditSigner(signer),
		catalog.WithDerivedThreshold(cfg.Protection.DerivedThreshold),
		catalog.WithNode(cfg.Node, cfg.LeasePeriod)}
	if cfg.Keystone != nil {
		catOpts = append(catOpts, catalog.WithExternalProjects())
	}
	cat := catalog.New(st, blobs, catOpts...)
	// One node owns every upload of an embedded store; nodes sharing a
	// database reset only the uploads whose lease has expired.
	recover := cat.RecoverUploads
	if cfg.Store == "sqlite" {
		recover = cat.RecoverOwnUploads
	}
	if n, err := recover(ctx); err != nil {
		closeAll()
		return nil, errors.E(op, err)
	} else if n > 0 {
		cfg.Logger.Warn("interrupted uploads reset to queued", "images", n)
	}
	// Blobs written for a change that a crash cut (an offer's sealed copy)
	// or that a change replaced: an embedded store's node is the only one
	// that could be writing them, and it has just started.
	if n, err := cat.SweepBlobs(ctx, cfg.Store == "sqlite"); err != nil {
		cfg.Logger.Warn("stale blobs not swept", "err", err)
	} else if n > 0 {
		cfg.Logger.Warn("stale blobs removed", "blobs", n)
	}
	token, err := cat.Bootstrap(ctx)
	if err != nil {
		closeAll()
		return nil, errors.E(op, err)
	}
	if token != "" {
		if err := securefile.Replace(filepath.Join(cfg.DataDir, "admin.token"), []byte(token+"\n")); err != nil {
			closeAll()
			return nil, errors.E(op, errors.Internal, errors.Msg("cannot write admin.token"), err)
		}
	}
	var ready func(context.Context) error
	if p, ok := st.(interface{ Ping(context.Context) error }); ok {
		ready = p.Ping
	}
	mon, err := monitor.New(ctx, st, cfg.Detect, monitor.WithLogger(cfg.Logger))
	if err != nil {
		closeAll()
		return nil, errors.E(op, err)
	}
	brk := broker.New(st, blobs, keys, issuer, broker.WithClock(cfg.Now), broker.WithLogger(cfg.Logger))
	opts := []api.Option{api.WithLogger(cfg.Logger), api.WithReadiness(ready),
		api.WithBroker(brk), api.WithIdentity(issuer), api.WithClock(cfg.Now), api.WithMonitor(mon),
		api.WithUploadLimits(cfg.Upload)}
	if cfg.Keystone != nil {
		v, err := keystone.New(*cfg.Keystone)
		if err != nil {
			mon.Close()
			closeAll()
			return nil, errors.E(op, err)
		}
		opts = append(opts, api.WithKeystone(v, cfg.KeystoneRoles))
	}
	h := api.New(cat, opts...)
	svc := &Service{Handler: web.Mount(h), Catalog: cat, Store: st, Keys: keys, Issuer: issuer, Monitor: mon, AdminToken: token}
	if cfg.Audit.CheckpointDir != "" {
		if _, err := svc.saveCheckpoint(ctx, cfg.Audit, signer); err != nil {
			svc.Close()
			return nil, errors.E(op, errors.Msg("cannot save an audit checkpoint to the checkpoint directory"), err)
		}
	}
	loops, stop := context.WithCancel(context.Background())
	svc.stop = stop
	if cfg.DetectEvery > 0 {
		svc.loops.Go(func() { svc.detectLoop(loops, cfg.DetectEvery, cfg.Logger) })
	}
	svc.loops.Go(func() { svc.auditLoop(loops, cfg.Audit, signer, cfg.Logger) })
	svc.loops.Go(func() { svc.recoverLoop(loops, cat.LeasePeriod()/3, cfg.Logger) })
	return svc, nil
}

// detectLoop runs detection every period as the system, until ctx ends.
func (s *Service) detectLoop(ctx context.Context, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	system := imgward.Principal{Role: imgward.RoleAdmin}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			rep, err := s.Monitor.Run(ctx, system)
			if err != nil {
				log.Error("periodic detection failed", "err", err)
				continue
			}
			log.Info("detection run", "scored", rep.Scored, "publishers", rep.Publishers, "flagged", len(rep.Flagged))
		}
	}
}

// Close releases the service's resources; later calls do nothing.
func (s *Service) Close() error {
	var err error
	s.closeOnce.Do(func() {
		if s.stop != nil {
			s.stop()
			s.loops.Wait() // a run in progress ends before the store closes
		}
		s.Monitor.Close()
		s.Issuer.Close()
		s.Keys.Close()
		err = s.Store.Close()
	})
	return err
}
