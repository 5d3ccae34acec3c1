package vmi

import (
	"context"
	"os"
	"regexp"
	"strconv"
	"sync"
	"time"

	"imgward/errors"
	"imgward/introspect/vmi/guest"
	"imgward/introspect/vmi/guestmem"
	"imgward/introspect/vmi/kernel"
	"imgward/snapshot"
)

var (
	_ guest.Memory = (*guestmem.Space)(nil)
	_ guest.Kernel = (*kernel.Running)(nil)
)

// maxPause bounds how long a scan keeps the guest paused: a scan that
// has not finished by then ends (kind Unavailable) and the guest runs
// again. (A variable for the tests.)
var maxPause = 2 * time.Second

// Bounds of a guest-memory scan.
const (
	// liveAttempts is how often a live scan is tried before it gives up
	// on a guest whose lists keep changing under it.
	liveAttempts = 3
)

// Guest reads a running guest's memory: its processes, sockets and
// modules (package guest), through the RAM file that QEMU shares with the
// host (package guestmem) and the kernel image the guest booted (package
// kernel). It keeps the mapping, the located kernel and its offsets from
// one scan to the next, and finds the kernel again when the guest has
// rebooted (KASLR moves it) or QEMU has restarted (a new RAM file). The
// vCPU's CR3, read through QMP at each scan, tells the running kernel from
// the old one that a reboot leaves in RAM, which the memory alone cannot.
//
// By default a scan pauses the guest (QMP stop, then cont) for its
// duration, usually a millisecond or two: the guest cannot change its
// lists while they are read, so a busy or hostile guest can neither tear
// the view nor hide a process by relinking it at the right moment. With
// Live, the guest keeps running: a scan whose lists changed under it
// (guest.State.Torn) is tried again, up to 3 times, then given up (kind
// Unavailable). Live suits guests that must never stop, at the price of a
// view that a guest racing the scan can bend; it may also do without QMP,
// relying on the memory alone.
type Guest struct {
	Mem     string           // the RAM file (-object memory-backend-file,mem-path=PATH,share=on)
	Kernel  string           // the guest's kernel: its vmlinuz or vmlinux
	Machine guestmem.Machine // the guest's memory layout; default q35
	Live    bool             // scan without pausing

	mu      sync.Mutex
	phys    *guestmem.Phys
	file    os.FileInfo // the RAM file mapped
	run     *kernel.Running
	scanner *guest.Scanner
	found   bool // a kernel was found in this RAM file once
}

// Timing is what a scan cost.
type Timing struct {
	Scan     time.Duration // reading the guest's memory, all attempts
	Paused   time.Duration // the guest stopped, from QMP stop sent to cont answered; 0 when live
	Attempts int           // scans run: 1, or more when a live scan was torn
}

// Scan reads the guest's state. socket is its QMP socket, through which a
// scan pauses it and learns its vCPU's CR3 (which tells the running kernel
// from an old copy that a reboot left in RAM); with Live it may be "",
// and the scan relies on the memory alone. A RAM file or kernel that is
// missing is an error of kind NotExist; one that is not a guest's or not
// this guest's kernel, Invalid or NotExist with a message saying which
// (Unavailable once a kernel has been found: the guest is rebooting); a
// guest that did not stop or resume, or a scan that ran out of time,
// Unavailable.
func (g *Guest) Scan(ctx context.Context, socket string) (*guest.State, Timing, error) {
	const op = "vmi.Guest.Scan"
	if socket == "" {
		if !g.Live {
			return nil, Timing{}, errors.E(op, errors.Invalid, errors.Msg("no QMP socket to pause the guest through"))
		}
		st, t, err := g.scan(ctx, nil)
		return st, t, errors.Wrap(op, err)
	}
	qc, err := dial(ctx, socket)
	if err != nil {
		return nil, Timing{}, errors.E(op, err)
	}
	defer qc.close()
	var status status
	if err := qc.execute(ctx, "query-status", &status); err != nil {
		return nil, Timing{}, errors.E(op, err)
	}
	st, t, err := g.scan(ctx, &session{ctx, qc, socket, status.Running})
	return st, t, errors.Wrap(op, err)
}

// session is a QMP session with the guest's QEMU, opened with ctx.
type session struct {
	ctx     context.Context
	qc      *client
	socket  string
	running bool // the guest runs: a scan pauses it (and only then resumes it)
}

// cr3 reads the CR3 register of the guest's first vCPU, through the human
// monitor's "info registers" (QMP has no command for it).
func (s *session) cr3() (uint64, error) {
	var out string
	if err := s.qc.executeArgs(s.ctx, "human-monitor-command", map[string]string{"command-line": "info registers"}, &out); err != nil {
		return 0, err
	}
	m := cr3RE.FindStringSubmatch(out)
	if m == nil {
		return 0, errors.E(errors.Invalid, errors.Msg("QEMU's info registers shows no CR3"))
	}
	return strconv.ParseUint(m[1], 16, 64)
}

var cr3RE = regexp.MustCompile(`\bCR3=([0-9a-fA-F]{1,16})\b`)

// pause stops the guest and returns the function that resumes it.
func (s *session) pause(pctx context.Context) (resume func() error, err error) {
	if !s.running {
		return func() error { return nil }, nil
	}
	if err := s.qc.execute(pctx, "stop", nil); err != nil {
		return nil, err
	}
	return func() error {
		// The guest must run again even when the scan ran out of time
		// (pctx), and even when the session's ctx has ended, which ends
		// the session: then through a session of its own, once QEMU's
		// one monitor client is free.
		if s.ctx.Err() == nil {
			if err := s.qc.execute(s.ctx, "cont", nil); err == nil {
				return nil
			}
		}
		s.qc.close()
		return resumeAlone(s.socket)
	}, nil
}

// resumeAlone resumes the guest at socket through a new session.
func resumeAlone(socket string) error {
	ctx, cancel := context.WithTimeout(context.Background(), defaultTimeout)
	defer cancel()
	qc, err := dial(ctx, socket)
	if err != nil {
		return err
	}
	defer qc.close()
	return qc.execute(ctx, "cont", nil)
}

// scan runs one scan with the session s (nil: memory alone, live), paused
// unless Live.
func (g *Guest) scan(ctx context.Context, s *session) (*guest.State, Timing, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var t Timing
	var cr3 uint64
	if s != nil {
		var err error
		if cr3, err = s.cr3(); err != nil {
			return nil, t, err
		}
	}
	// The kernel is parsed and found before the guest is paused: that
	// takes seconds the first time.
	if err := g.prepare(cr3); err != nil {
		return nil, t, err
	}
	if g.Live || s == nil {
		st, err := retryTorn(func() (*guest.State, error) { return g.scanOnce(ctx, &t) })
		return st, t, err
	}
	pctx, cancel := context.WithTimeout(ctx, maxPause)
	defer cancel()
	start := time.Now()
	resume, err := s.pause(pctx)
	if err != nil {
		return nil, t, err
	}
	st, err := g.scanOnce(pctx, &t)
	if rerr := resume(); rerr != nil && err == nil {
		err = errors.E(errors.Unavailable, errors.Msg("the guest did not resume after the scan"), rerr)
	}
	t.Paused = time.Since(start)
	return st, t, err
}

// retryTorn runs a live scan until one is not torn (no list link changed
// under it), up to liveAttempts times.
func retryTorn(scan func() (*guest.State, error)) (*guest.State, error) {
	for range liveAttempts {
		st, err := scan()
		if err != nil || st.Torn == 0 {
			return st, err
		}
	}
	return nil, errors.E(errors.Unavailable, errors.Msg("the guest changed its lists during each of 3 live scans; scan it paused"))
}

// scanOnce scans the guest with the kernel that prepare found.
func (g *Guest) scanOnce(ctx context.Context, t *Timing) (*guest.State, error) {
	start := time.Now()
	defer func() { t.Scan += time.Since(start); t.Attempts++ }()
	// A translation cache for this scan alone: the next one may find
	// other page tables.
	return g.scanner.Scan(ctx, g.run.Space.Cached())
}

// prepare maps the RAM file and finds the kernel in it, or keeps them
// when they have not changed: the kernel is still where it was found and,
// when cr3 (a vCPU's CR3; 0: unknown) is known, it is the one the CPU
// runs. Once a kernel has been found, not finding it again is kind
// Unavailable: the guest is rebooting, and the next scan may find it.
func (g *Guest) prepare(cr3 uint64) error {
	if err := g.open(); err != nil {
		return err
	}
	if g.run != nil && g.run.Confirm() && (cr3 == 0 || g.run.Runs(cr3)) {
		return nil
	}
	g.run, g.scanner = nil, nil
	err := g.locate(cr3)
	if err != nil && g.found && errors.KindOf(err) == errors.NotExist {
		return errors.E(errors.Unavailable, errors.Msg("the guest's kernel is gone (a reboot?): "+errors.Message(err)), err)
	}
	return err
}

// open maps the RAM file, or keeps it when it has not changed.
func (g *Guest) open() error {
	fi, err := os.Stat(g.Mem)
	if err != nil {
		kind := errors.Invalid
		if os.IsNotExist(err) {
			kind = errors.NotExist
		}
		return errors.E(kind, err)
	}
	// A restarted QEMU has a new file at the same path.
	if g.phys != nil && os.SameFile(fi, g.file) {
		return nil
	}
	g.closeLocked()
	g.found = false
	if g.phys, err = guestmem.OpenPhys(g.Mem, g.Machine); err != nil {
		return err
	}
	g.file = fi
	return nil
}

func (g *Guest) locate(cr3 uint64) error {
	b, err := kernel.Load(g.Kernel)
	if err != nil {
		return err
	}
	run, err := b.LocateCR3(g.phys, cr3)
	if err != nil {
		return err
	}
	sc, err := guest.NewScanner(run)
	if err != nil {
		return err
	}
	g.run, g.scanner, g.found = run, sc, true
	return nil
}

// Close unmaps the RAM file.
func (g *Guest) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.closeLocked()
}

func (g *Guest) closeLocked() error {
	g.run, g.scanner = nil, nil
	if g.phys == nil {
		return nil
	}
	err := g.phys.Close()
	g.phys = nil
	return err
}

// addGuest scans the guest's memory with the session qc, paused unless
// Live, and adds its features to s.
func (c *Collector) addGuest(ctx context.Context, qc *client, running bool, s *snapshot.Snapshot) error {
	st, _, err := c.Guest.scan(ctx, &session{ctx, qc, c.Socket, running})
	if err != nil {
		return err
	}
	numeric, sets := st.Features()
	for k, v := range numeric {
		if _, dup := s.Numeric[k]; dup {
			return errors.E(errors.Internal, errors.Errorf("feature %s comes from both QMP and guest memory", k))
		}
		s.Numeric[k] = v
	}
	for k, v := range sets {
		if _, dup := s.Sets[k]; dup {
			return errors.E(errors.Internal, errors.Errorf("set %s comes from both QMP and guest memory", k))
		}
		s.Sets[k] = v
	}
	return nil
}
