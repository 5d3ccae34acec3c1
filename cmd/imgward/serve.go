package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"imgward/api"
	"imgward/catalog"
	"imgward/errors"
	"imgward/keystone"
	"imgward/monitor"
	"imgward/server"
)

const serveUsage = `usage: imgward serve [flags]

Runs the imgward service: the Glance v2 images and members API under /v2,
imgward's own API under /v1, /metrics, /healthz and /readyz.

Detection: collectors post snapshots to POST /v1/snapshots; an admin marks
publishers trusted and images with a role, builds baselines (imgward
baseline build) and runs detection (imgward detect run, or --detect-every).
A publisher is flagged when the mean surprise of its n >= --detect-min-instances
scored instances exceeds what n benign ones give with probability
--detect-alpha; its images are then quarantined and the projects running
them told (GET /v1/events, and --webhook-url). See docs/API.md.

On its first start against an empty store it creates an admin user, prints
the admin's token once, and writes it to <data-dir>/admin.token (mode 0600).

Protected images (imgward image create --protect full) are sealed under data
keys wrapped by a master key of the KMS: --kms local keeps master keys in
<data-dir>/master.keys (mode 0600); --kms pkcs11 keeps them in an HSM token
(binaries built with -tags pkcs11; the PIN comes from --pkcs11-pin env:NAME
or file:PATH, never from the command line). Instance identity documents are
signed with Ed25519 keys kept in <data-dir>/identity.

Several nodes may serve one PostgreSQL database (--store postgres) and one
blob directory on shared storage (--blob-dir). Give every node the same
--kms-kek-file (or one HSM with --kms pkcs11): the master keys and the
identity signing keys then live in the database, wrapped, and a rotation on
one node serves on all. The first node's admin token is valid on every node.
An upload in progress holds a lease that its node renews; when the node dies
the others queue the image again within about --lease-period. A node's
former <data-dir>/master.keys is imported into the shared ring at its first
start with --kms-kek-file, and renamed master.keys.imported.
See docs/ARCHITECTURE.md ("Several nodes") and scripts/cluster.sh.

Image data is kept in files under --blob-dir by default. With --blob
s3://BUCKET?endpoint=URL&region=NAME it is kept in an existing bucket of an
S3-compatible object store instead (what several nodes share without a
shared filesystem); the credentials come from AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), never from a flag. Uploads
stream to it in multipart uploads, aborted if they fail: an object appears
only when its upload is complete.

--tls-cert and --tls-key serve HTTPS, with HTTP/2 for clients that offer it.
Serving plain HTTP on an address other than loopback prints a warning.

The operator dashboard is at / : sign in with a token (kept in the browser
tab's session storage); it shows what the API lets that token see.

--demo starts a simulated cloud in a new temporary data directory (removed
at exit; --data-dir, --store, --dsn, --blob-dir and --checkpoint-dir are
refused with it): twenty publishers, one malicious and one partly infected,
trusted baselines, instances reporting every 5s, detection every 5s
(--detect-every), and a key release the broker refuses. It prints the
address and the admin token to sign in with.

An upload's body must bring at least --upload-min-rate bytes/s over every
--upload-window and end within --upload-timeout: a stalled or trickling
upload ends with 400, its image is queued again, and what it held is free
(a protected upload in progress keeps key rotation from retiring versions).

The audit log is a transparency log (docs/PROTECTION.md): every entry is a
leaf of a Merkle tree whose checkpoints are signed by the KMS key
imgward-audit. --checkpoint-dir DIR, outside the data directory, receives a
signed checkpoint at start and every --checkpoint-every; imgward audit
verify --checkpoint DIR then proves the database consistent with them.

Unless GOGC is set in the environment, serve runs Go's garbage collector at
GOGC=400 rather than 100: more resident memory (about 18 MB more under a
load of key releases), for about a sixth less processor time a release.
Set GOGC=100 where memory is tighter than processor time.

` + keystoneHelp + `
Every flag can also be set in the environment, as IMGWARD_<FLAG> with dashes
as underscores (IMGWARD_DATA_DIR, IMGWARD_LISTEN, IMGWARD_STORE, IMGWARD_DSN...).

flags:
`

// envDefault returns the environment's value for a flag, or def.
func envDefault(getenv func(string) string, name, def string) string {
	if v := getenv("IMGWARD_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))); v != "" {
		return v
	}
	return def
}

func cmdServe(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	env := func(name, def string) string { return envDefault(getenv, name, def) }
	dataDir := fs.String("data-dir", env("data-dir", "./imgward-data"), "directory of the embedded store, image data and admin.token")
	listen := fs.String("listen", env("listen", "127.0.0.1:7480"), "address to listen on")
	storeName := fs.String("store", env("store", "sqlite"), "store backend: "+strings.Join(server.StoreNames(), " or "))
	dsn := fs.String("dsn", env("dsn", ""), "PostgreSQL connection string, for --store postgres")
	blobDir := fs.String("blob-dir", env("blob-dir", ""), "directory of image data (default <data-dir>/blobs; shared storage when several nodes run)")
	blobURL := fs.String("blob", env("blob", ""), "image data elsewhere than --blob-dir, by URL: s3://BUCKET?endpoint=URL&region=NAME (credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")
	maxSize := fs.String("max-image-size", env("max-image-size", "1099511627776"), "largest image upload, in bytes")
	syncMode := fs.String("sync", env("sync", "normal"), "sqlite durability: normal (survives a process crash) or full (also survives power loss)")
	kmsName := fs.String("kms", env("kms", "local"), "key service of image keys: "+strings.Join(server.KeyServiceNames(), " or "))
	p11Module := fs.String("pkcs11-module", env("pkcs11-module", ""), "PKCS#11 module, for --kms pkcs11")
	p11Token := fs.String("pkcs11-token", env("pkcs11-token", ""), "PKCS#11 token label, for --kms pkcs11")
	p11PIN := fs.String("pkcs11-pin", env("pkcs11-pin", ""), "where the token's PIN is: env:NAME or file:PATH")
	kekFile := fs.String("kms-kek-file", env("kms-kek-file", ""), "--kms local: keep the master keys in the store, wrapped by the 32-byte key in this file (base64; mode 0600); every node of a cluster gets the same file")
	node := fs.String("node", env("node", ""), "this node's name among nodes sharing a database and blob directory (default: host name and a hash of --data-dir)")
	leasePeriod := fs.String("lease-period", env("lease-period", catalog.DefaultLeasePeriod.String()), "how long a node's lease (an upload in progress, a key rotation) lives unrenewed: a dead node's uploads are queued again within about this long")
	refresh := fs.String("key-refresh", env("key-refresh", "10s"), "how long a node trusts its copy of the shared master and identity key rings")
	derived := fs.String("derived-threshold", env("derived-threshold", "0.5"), "share of a protected image's content above which another owner's upload, or that owner's uploads weighed together (docs/FORMATS.md §2.6), is flagged as derived")
	logLevel := fs.String("log-level", env("log-level", "info"), "debug, info, warn or error")
	detectEvery := fs.String("detect-every", env("detect-every", "0"), "run detection this often, such as 10m (0: only on POST /v1/detect/run)")
	webhook := fs.String("webhook-url", env("webhook-url", ""), "POST every event (a flagged publisher...) as JSON to this URL, with retries")
	alpha := fs.String("detect-alpha", env("detect-alpha", "0.0001"), "false-flag rate per run of a benign publisher or image")
	minInst := fs.String("detect-min-instances", env("detect-min-instances", "5"), "scored instances before a publisher or image is judged")
	tlsCert := fs.String("tls-cert", env("tls-cert", ""), "PEM certificate (chain) to serve HTTPS and HTTP/2 with; needs --tls-key")
	tlsKey := fs.String("tls-key", env("tls-key", ""), "PEM private key of --tls-cert")
	upRate := fs.String("upload-min-rate", env("upload-min-rate", strconv.FormatInt(api.DefaultUploadLimits.MinRate, 10)),
		"least average rate of an upload's body, in bytes/s over every --upload-window; a slower upload ends (0: no minimum)")
	upWindow := fs.String("upload-window", env("upload-window", api.DefaultUploadLimits.Window.String()),
		"the window of --upload-min-rate: a stalled upload ends within it")
	upTimeout := fs.String("upload-timeout", env("upload-timeout", api.DefaultUploadLimits.Timeout.String()),
		"longest time an upload's body may take, such as 24h (0: no limit)")
	ksURL := fs.String("keystone-url", env("keystone-url", ""), "validate OpenStack tokens against this Keystone (see above)")
	ksFile := fs.String("keystone-config", env("keystone-config", ""), "file of the Keystone service user's credentials")
	ksAdmin := fs.String("keystone-admin-role", env("keystone-admin-role", "admin"), "Keystone role that makes an imgward admin")
	ksCollector := fs.String("keystone-collector-role", env("keystone-collector-role", "imgward-collector"), "Keystone role that makes an imgward collector")
	ckptDir := fs.String("checkpoint-dir", env("checkpoint-dir", ""), "append a signed audit checkpoint to this directory, outside the data directory, every --checkpoint-every")
	demo := fs.Bool("demo", false, "seed a simulated cloud in a new data directory of its own (never --data-dir), and open the dashboard on it")
	ckptEvery := fs.String("checkpoint-every", env("checkpoint-every", server.DefaultCheckpointEvery.String()), "how often to append an audit checkpoint to --checkpoint-dir")
	fs.Usage = func() {
		fmt.Fprint(stderr, serveUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "error: unexpected argument %q\nhint: imgward serve --help\n", fs.Arg(0))
		return 2
	}
	tuneGC()
	if *demo {
		if msg := demoFlags(fs, getenv); msg != "" {
			fmt.Fprintf(stderr, "error: %s\n", msg)
			return 2
		}
		dir, err := os.MkdirTemp("", "imgward-demo-")
		if err != nil {
			fmt.Fprintf(stderr, "error: cannot make the demo's data directory: %v\n", err)
			return 1
		}
		// Registered before the store opens, so it runs after it closes.
		defer os.RemoveAll(dir)
		*dataDir, *storeName = dir, "sqlite"
		if !isSet(fs, getenv, "detect-every") {
			*detectEvery = demoDetectEvery.String()
		}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(stderr, "error: bad --log-level %q\n", *logLevel)
		return 2
	}
	max, err := strconv.ParseInt(*maxSize, 10, 64)
	if err != nil || max <= 0 {
		fmt.Fprintf(stderr, "error: --max-image-size must be a positive number of bytes\n")
		return 2
	}
	threshold, err := strconv.ParseFloat(*derived, 64)
	if err != nil || threshold <= 0 || threshold > 1 {
		fmt.Fprintf(stderr, "error: --derived-threshold must be a number in (0, 1]\n")
		return 2
	}
	every, err := time.ParseDuration(*detectEvery)
	if *detectEvery == "0" {
		every, err = 0, nil
	}
	a, aerr := strconv.ParseFloat(*alpha, 64)
	mi, merr := strconv.Atoi(*minInst)
	switch {
	case err != nil || every < 0:
		fmt.Fprintf(stderr, "error: --detect-every must be a duration such as 10m, or 0\n")
		return 2
	case aerr != nil || !(a > 0 && a < 1):
		fmt.Fprintf(stderr, "error: --detect-alpha must be in (0, 1)\n")
		return 2
	case merr != nil || mi < 1:
		fmt.Fprintf(stderr, "error: --detect-min-instances must be a positive integer\n")
		return 2
	}
	upload, msg := uploadLimits(*upRate, *upWindow, *upTimeout)
	lease, lerr := time.ParseDuration(*leasePeriod)
	keyRefresh, rerr := time.ParseDuration(*refresh)
	switch {
	case msg != "":
	case lerr != nil || lease < 300*time.Millisecond:
		msg = "--lease-period must be a duration of at least 300ms, such as 30s"
	case rerr != nil || keyRefresh <= 0:
		msg = "--key-refresh must be a positive duration such as 10s"
	}
	if msg == "" && (*tlsCert == "") != (*tlsKey == "") {
		msg = "--tls-cert and --tls-key go together"
	}
	ckptPeriod, err := time.ParseDuration(*ckptEvery)
	if msg == "" && (err != nil || ckptPeriod <= 0) {
		msg = "--checkpoint-every must be a positive duration such as 1h"
	}
	var ks *keystone.Config
	if msg == "" {
		ks, msg = keystoneConfig(*ksURL, *ksFile, getenv)
	}
	if msg != "" {
		fmt.Fprintf(stderr, "error: %s\n", msg)
		return 2
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	svc, err := server.Open(ctx, server.Config{
		DataDir: *dataDir, Store: *storeName, DSN: *dsn, BlobDir: *blobDir, Blob: *blobURL, Getenv: getenv,
		Limits: catalog.Limits{MaxImageSize: max}, Sync: *syncMode, Logger: log,
		Detect: monitor.Config{Alpha: a, MinInstances: mi, Webhook: *webhook}, DetectEvery: every,
		Protection: server.Protection{KMS: *kmsName, PKCS11Module: *p11Module, PKCS11Token: *p11Token,
			PKCS11PIN: *p11PIN, DerivedThreshold: threshold, KEKFile: *kekFile, Refresh: keyRefresh},
		Upload: upload, Node: *node, LeasePeriod: lease,
		Audit:    server.Audit{CheckpointDir: *ckptDir, CheckpointEvery: ckptPeriod},
		Keystone: ks, KeystoneRoles: api.KeystoneRoles{Admin: *ksAdmin, Collector: *ksCollector},
	})
	if err != nil {
		fmt.Fprintf(stderr, "error: %s\n", errorText(err))
		if *storeName == "postgres" {
			fmt.Fprintln(stderr, "hint: check --dsn and that PostgreSQL is reachable")
		}
		return 1
	}
	defer svc.Close()
	if svc.AdminToken != "" {
		fmt.Fprintf(stdout, "created the first admin; its token, shown only this once, is:\n\n    %s\n\nit is also in %s (mode 0600)\n",
			svc.AdminToken, filepath.Join(*dataDir, "admin.token"))
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(stderr, "error: cannot listen on %s: %v\n", *listen, err)
		return 1
	}
	hs := &http.Server{
		Handler:           svc.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	scheme := "http"
	if *tlsCert != "" {
		// ServeTLS offers HTTP/2 by ALPN, and HTTP/1.1 to clients without it.
		scheme = "https"
		hs.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	log.Info("imgward serving", "addr", ln.Addr().String(), "scheme", scheme, "store", *storeName, "data_dir", *dataDir)
	errc := make(chan error, 1)
	if *tlsCert != "" {
		// The certificate is loaded before the address is announced, so
		// that a bad one is an error at start and not at the first client.
		if _, err := tls.LoadX509KeyPair(*tlsCert, *tlsKey); err != nil {
			fmt.Fprintf(stderr, "error: cannot load --tls-cert and --tls-key: %v\n", err)
			return 1
		}
		go func() { errc <- hs.ServeTLS(ln, *tlsCert, *tlsKey) }()
	} else {
		go func() { errc <- hs.Serve(ln) }()
	}
	fmt.Fprintf(stdout, "imgward serving on %s://%s\n", scheme, ln.Addr())
	if *tlsCert == "" && !loopback(ln.Addr()) {
		// A token crosses the network in clear text: say so where the
		// operator looks at start, and in the log.
		fmt.Fprintf(stderr, "warning: listening on %s without TLS: tokens and image data cross the network unencrypted; use --tls-cert and --tls-key\n", ln.Addr())
		log.Warn("listening on a non-loopback address without TLS", "addr", ln.Addr().String())
	}
	if *demo {
		host := ln.Addr().String()
		if a, ok := ln.Addr().(*net.TCPAddr); ok && a.IP.IsUnspecified() {
			host = net.JoinHostPort("127.0.0.1", strconv.Itoa(a.Port))
		}
		base := scheme + "://" + host
		fmt.Fprintf(stdout, "demo: data directory %s (removed at exit)\ndemo: open %s/ and sign in with the admin token above; seeding a simulated cloud...\n", *dataDir, base)
		go func() {
			if err := runDemo(ctx, base, svc.AdminToken, demoDetectEvery, stdout, stderr); err != nil && ctx.Err() == nil {
				fmt.Fprintf(stderr, "error: demo: %s\n", errorText(err))
			}
		}()
	}
	select {
	case err := <-errc:
		fmt.Fprintf(stderr, "error: %v\n", err)
		return 1
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		log.Warn("shutdown", "err", err)
	}
	return 0
}

// demoDetectEvery is how often the demo runs detection and its instances report.
const demoDetectEvery = 5 * time.Second

// demoFlags says what is wrong with flags given with --demo, or "": the
// demo makes its own data directory and embedded store, so that its
// simulated cloud never mixes with a real one.
func demoFlags(fs *flag.FlagSet, getenv func(string) string) string {
	for _, name := range []string{"data-dir", "store", "dsn", "blob-dir", "checkpoint-dir"} {
		if isSet(fs, getenv, name) {
			return "--demo makes a data directory and store of its own: drop --" + name + " (and IMGWARD_" +
				strings.ToUpper(strings.ReplaceAll(name, "-", "_")) + ")"
		}
	}
	return ""
}

// isSet says whether a flag was given on the command line or in the environment.
func isSet(fs *flag.FlagSet, getenv func(string) string, name string) bool {
	set := getenv("IMGWARD_"+strings.ToUpper(strings.ReplaceAll(name, "-", "_"))) != ""
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// loopback says whether a listening address is reachable only from this host.
func loopback(a net.Addr) bool {
	t, ok := a.(*net.TCPAddr)
	return ok && t.IP.IsLoopback()
}

// uploadLimits parses the --upload-* flags; 0 turns a bound off. It
// returns a message for the user when one is bad.
func uploadLimits(rate, window, timeout string) (api.UploadLimits, string) {
	var l api.UploadLimits
	var err error
	if l.MinRate, err = strconv.ParseInt(rate, 10, 64); err != nil || l.MinRate < 0 {
		return l, "--upload-min-rate must be a number of bytes per second, or 0"
	}
	if l.Window, err = time.ParseDuration(window); err != nil || l.Window <= 0 {
		return l, "--upload-window must be a positive duration such as 30s"
	}
	if timeout == "0" {
		timeout = "0s"
	}
	if l.Timeout, err = time.ParseDuration(timeout); err != nil || l.Timeout < 0 {
		return l, "--upload-timeout must be a duration such as 24h, or 0"
	}
	// In api.UploadLimits zero takes the default and a negative value is off.
	if l.MinRate == 0 {
		l.MinRate = -1
	}
	if l.Timeout == 0 {
		l.Timeout = -1
	}
	return l, ""
}

// errorText is the message of err for a person: the client message if
// there is one, else the whole chain.
func errorText(err error) string {
	if m := errors.Message(err); m != "" {
		return m
	}
	return err.Error()
}
