package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"time"

	imerrors "imgward/errors"
	"imgward/introspect"
	"imgward/introspect/procfs"
	"imgward/snapshot"
)

var collectNoun = noun{
	name:    "collect",
	summary: "collectors that post introspection snapshots to the server",
	commands: []command{
		{"procfs", collectProcfsUsage, collectProcfs},
		{"vmi", collectVMIUsage, collectVMI},
	},
}

const collectProcfsUsage = `usage: imgward collect procfs --instance ID (--cgroup PATH | --pid PID) [--every D] [--once] [--out FILE] [--proc DIR]

Introspect a Linux process group from the host's /proc, as the instance ID,
and post a snapshot to the server's POST /v1/snapshots every D until
interrupted. The group is a cgroup v2 directory (its cgroup.procs), or the
process tree rooted at PID. Run it on the host, not in the guest: what the
host kernel reports, the instance cannot forge. The token must be an
admin's or a collector's bound to the instance's host (imgward user create
--role collector --hosts). The features are listed in docs/SNAPSHOT.md
(processes and executables, threads, RSS, CPU time, descriptors, listening
ports and remote endpoints, kernel modules).

A failure to reach the server is retried with backoff, then reported on
stderr, and the next period tries again; a refusal (4xx) or a group with no
live process ends the command. A snapshot always fits the server's limits:
sets over them are cut (counted in meta.dropped.SET), and a /proc file too
long or malformed is left out with a warning on stderr that names it
(counted in meta.procfs.skipped).

Flags:
  --instance ID   the instance the snapshots describe (i- and 16 hex digits)
  --cgroup PATH   a cgroup v2 directory, such as /sys/fs/cgroup/machine.slice/vm1
  --pid PID       the root of a process tree
  --every D       the period between snapshots (default 10s)
  --once          take one snapshot and exit
  --out FILE      write NDJSON snapshots to FILE (- for stdout) instead of posting
  --proc DIR      the proc file system (default /proc)
`

func collectProcfs(e *env, args []string) error {
	fs := e.bareFlags("collect procfs")
	f := addCollectFlags(fs)
	cgroup := fs.String("cgroup", "", "")
	pid := fs.Int("pid", 0, "")
	proc := fs.String("proc", "/proc", "")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if err := f.check(); err != nil {
		return err
	}
	switch {
	case (*cgroup == "") == (*pid == 0):
		return usageError("give one of --cgroup PATH and --pid PID")
	case *pid < 0:
		return usageError("--pid " + strconv.Itoa(*pid) + ": want a positive PID")
	}
	c := &procfs.Collector{Proc: *proc, Instance: *f.instance, Cgroup: *cgroup, PID: *pid,
		Log: slog.New(slog.NewTextHandler(e.stderr, nil))}
	return e.collect(f, c.Snapshot)
}

// collectFlags are the flags that every collector takes.
type collectFlags struct {
	instance, out *string
	every         *time.Duration
	once          *bool
}

func addCollectFlags(fs *flag.FlagSet) collectFlags {
	return collectFlags{
		instance: fs.String("instance", "", ""),
		out:      fs.String("out", "", ""),
		every:    fs.Duration("every", 10*time.Second, ""),
		once:     fs.Bool("once", false, ""),
	}
}

func (f collectFlags) check() error {
	switch {
	case *f.instance == "":
		return usageError("--instance is required")
	case *f.every <= 0:
		return usageError("--every: want a positive duration")
	}
	return nil
}

// collect takes a snapshot every period and sends it to out, as
// snapshotSink reads it, until interrupted, or once. A failure that may
// pass (kind Unavailable: the server or the source did not answer) is
// reported and the next period tries again; any other ends the command.
func (e *env) collect(f collectFlags, snap func(context.Context) (*snapshot.Snapshot, error)) error {
	once := *f.once
	sink, err := e.snapshotSink(*f.out)
	if err != nil {
		return err
	}
	defer sink.close()
	t := time.NewTicker(*f.every)
	defer t.Stop()
	for {
		s, err := snap(e.ctx)
		if err == nil {
			err = sink.put(e.ctx, []snapshot.Snapshot{*s})
		} else {
			err = snapshotError(err)
		}
		if err != nil {
			if e.ctx.Err() != nil {
				return nil // interrupted: a normal end of a collector
			}
			if once || imerrors.KindOf(err) != imerrors.Unavailable {
				return err
			}
			fmt.Fprintf(e.stderr, "error: %s\n", clean(err.Error()))
		}
		if once {
			return nil
		}
		select {
		case <-e.ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// snapshotError maps an introspection error to an exit status.
func snapshotError(err error) error {
	switch imerrors.KindOf(err) {
	case imerrors.NotExist:
		return &statusError{exitNotFound, err.Error()}
	case imerrors.Invalid:
		return usageError(err.Error())
	case imerrors.Permission:
		return &statusError{exitPermission, err.Error()}
	}
	return err
}

// sink is where snapshots go: an NDJSON file, or the server.
type sink struct {
	enc    *snapshot.Encoder
	file   io.Closer
	poster *introspect.Poster
	posted int
}

// snapshotSink returns a sink writing to out ("-" for stdout), or posting
// to the server at IMGWARD_URL when out is empty.
func (e *env) snapshotSink(out string) (*sink, error) {
	switch out {
	case "-":
		return &sink{enc: snapshot.NewEncoder(e.stdout)}, nil
	case "":
		if e.api.err != nil {
			return nil, e.api.err
		}
		return &sink{poster: &introspect.Poster{URL: e.api.base.String(), Token: e.api.token, Client: e.api.hc}}, nil
	}
	f, err := os.Create(out)
	if err != nil {
		return nil, err
	}
	return &sink{enc: snapshot.NewEncoder(f), file: f}, nil
}

// putSnapshots sends snaps to out, as snapshotSink reads it, and closes the
// sink; it returns how many the server acknowledged when it posted them.
func (e *env) putSnapshots(out string, snaps []snapshot.Snapshot) (posted int, err error) {
	sink, err := e.snapshotSink(out)
	if err != nil {
		return 0, err
	}
	err = sink.put(e.ctx, snaps)
	if cerr := sink.close(); err == nil {
		err = cerr
	}
	return sink.posted, err
}

func (s *sink) put(ctx context.Context, snaps []snapshot.Snapshot) error {
	if s.poster != nil {
		n, err := s.poster.Post(ctx, snaps)
		s.posted += n
		return postError(err)
	}
	for i := range snaps {
		if err := s.enc.Encode(&snaps[i]); err != nil {
			return err
		}
	}
	return nil
}

func (s *sink) close() error {
	if s.file != nil {
		return s.file.Close()
	}
	return nil
}

// postError adds the hints of the client's errors to the Poster's.
func postError(err error) error {
	switch imerrors.KindOf(err) {
	case imerrors.Unauthenticated:
		return &hintError{&statusError{exitPermission, err.Error()}, "set IMGWARD_TOKEN to a collector's or an admin's token"}
	case imerrors.Permission:
		return &hintError{&statusError{exitPermission, err.Error()}, "snapshots need an admin's token or a collector's bound to the instance's host (imgward user create NAME --role collector --hosts HOST)"}
	case imerrors.Unavailable:
		return withHint(err, "is imgward serve running at IMGWARD_URL?")
	}
	return err
}
