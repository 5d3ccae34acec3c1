package main

import (
	"flag"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"imgward/introspect/vmi"
	"imgward/introspect/vmi/guest"
	"imgward/introspect/vmi/guestmem"
)

var vmiNoun = noun{
	name:    "vmi",
	summary: "what a QEMU guest runs, read from its memory on the host",
	commands: []command{
		{"ps", vmiPsUsage, vmiPs},
		{"sockets", vmiSocketsUsage, vmiSockets},
		{"modules", vmiModulesUsage, vmiModules},
	},
}

// vmiFlagsUsage is the flags' part of the vmi commands' usage.
const vmiFlagsUsage = `
The guest is read from outside, with no agent in it: --mem is the file that
backs its RAM (QEMU's -object memory-backend-file,...,mem-path=PATH,share=on),
--kernel the vmlinuz (or vmlinux) it booted, whose kallsyms and BTF say where
everything is (an uncompressed vmlinux is read in a fraction of the second
that decompressing a vmlinuz takes). The scan pauses the guest through its
QMP socket for about a millisecond, unless --live. Run it on the host, as a
user that may read the RAM file.

Flags:
  --qmp PATH         QEMU's QMP unix socket (not needed with --live)
  --mem PATH         the guest's RAM file
  --kernel VMLINUZ   the guest's kernel image
  --machine TYPE     the guest's machine type: q35 (default) or pc (i440fx)
  --live             do not pause the guest; retry a scan that its changes tore
  --output FORMAT    table or json
`

const vmiPsUsage = `usage: imgward vmi ps --qmp PATH --mem PATH --kernel VMLINUZ [--live] [--output table|json]

List a guest's processes as its kernel knows them, like ps inside it:
PID, parent, user, threads, resident memory, start (since boot), name
(comm), executable and command line. A process marked HIDDEN is in the
kernel's PID table but missing from its task list (unlinked to hide it
from ps); FAKE is a user process named like a kernel thread. Kernel
threads are listed too, with their names in brackets.
` + vmiFlagsUsage

const vmiSocketsUsage = `usage: imgward vmi sockets --qmp PATH --mem PATH --kernel VMLINUZ [--live] [--output table|json]

List a guest's TCP and UDP sockets, IPv4 and IPv6, with their state and
the process that holds each, like netstat -tunap inside it.
` + vmiFlagsUsage

const vmiModulesUsage = `usage: imgward vmi modules --qmp PATH --mem PATH --kernel VMLINUZ [--live] [--output table|json]

List a guest's loaded kernel modules, like lsmod inside it. A module marked
HIDDEN is in the kernel's module kset (sysfs) but missing from the module
list (unlinked to hide it from lsmod).
` + vmiFlagsUsage

// guestFlags are the flags that read a guest's memory.
type guestFlags struct {
	mem, kernel, machine *string
	live                 *bool
}

func addGuestFlags(fs *flag.FlagSet) guestFlags {
	return guestFlags{mem: fs.String("mem", "", ""), kernel: fs.String("kernel", "", ""),
		machine: fs.String("machine", "q35", ""), live: fs.Bool("live", false, "")}
}

func (g guestFlags) guest() (*vmi.Guest, error) {
	if *g.mem == "" || *g.kernel == "" {
		return nil, usageError("give both --mem PATH and --kernel VMLINUZ")
	}
	m := guestmem.Machine(*g.machine)
	if m != guestmem.Q35 && m != guestmem.PC {
		return nil, usageError("--machine " + *g.machine + ": want q35 or pc")
	}
	return &vmi.Guest{Mem: *g.mem, Kernel: *g.kernel, Machine: m, Live: *g.live}, nil
}

// scanGuest parses a vmi command's flags and scans the guest once.
func (e *env) scanGuest(name string, args []string) (*guest.State, error) {
	fs := e.flags(name)
	qmp := fs.String("qmp", "", "")
	g := addGuestFlags(fs)
	if _, err := parse(fs, args); err != nil {
		return nil, err
	}
	gm, err := g.guest()
	if err != nil {
		return nil, err
	}
	defer gm.Close()
	if *qmp == "" && !gm.Live {
		return nil, usageError("--qmp PATH is required to pause the guest (or scan it --live)")
	}
	st, _, err := gm.Scan(e.ctx, *qmp)
	if err != nil {
		return nil, snapshotError(err)
	}
	return st, nil
}

// vmiProcess is a process as vmi ps prints it in JSON.
type vmiProcess struct {
	PID         int     `json:"pid"`
	PPID        int     `json:"ppid"`
	UID         uint32  `json:"uid"`
	Name        string  `json:"name"`
	Cmdline     string  `json:"cmdline"`
	Exe         string  `json:"exe,omitempty"`
	Threads     int     `json:"threads"`
	RSS         uint64  `json:"rss_bytes"`
	Start       float64 `json:"start_seconds"`
	Kernel      bool    `json:"kernel_thread"`
	RWX         int     `json:"rwx_regions"`
	Hidden      bool    `json:"hidden"`
	FakeKthread bool    `json:"fake_kthread"`
}

func vmiPs(e *env, args []string) error {
	st, err := e.scanGuest("vmi ps", args)
	if err != nil {
		return err
	}
	ps := make([]vmiProcess, 0, len(st.Processes))
	for _, p := range st.Processes {
		ps = append(ps, vmiProcess{p.PID, p.PPID, p.UID, p.Comm, p.Cmdline, p.Exe, p.Threads, p.RSS,
			p.Start.Seconds(), p.Kernel, p.RWX, p.Hidden, p.FakeKthread})
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].PID < ps[j].PID })
	return e.emit(ps, func(w io.Writer) error {
		t := newTable(w, "PID", "PPID", "UID", "THR", "RSS", "START", "FLAGS", "NAME", "EXE", "COMMAND")
		for _, p := range ps {
			name := p.Name
			if p.Kernel {
				name = "[" + name + "]"
			}
			t.row(strconv.Itoa(p.PID), strconv.Itoa(p.PPID), strconv.FormatUint(uint64(p.UID), 10),
				strconv.Itoa(p.Threads), strconv.FormatUint(p.RSS>>10, 10)+"K",
				time.Duration(p.Start*float64(time.Second)).Round(time.Millisecond).String(),
				marks(p.Hidden, p.FakeKthread, p.RWX > 0), name, p.Exe, p.Cmdline)
		}
		return t.flush()
	})
}

// vmiSocket is a socket as vmi sockets prints it in JSON.
type vmiSocket struct {
	Proto  string `json:"proto"`
	Local  string `json:"local"`
	Remote string `json:"remote"`
	State  string `json:"state"`
	PID    int    `json:"pid"`
}

func vmiSockets(e *env, args []string) error {
	st, err := e.scanGuest("vmi sockets", args)
	if err != nil {
		return err
	}
	ss := make([]vmiSocket, 0, len(st.Sockets))
	for _, s := range st.Sockets {
		ss = append(ss, vmiSocket{s.Proto, s.Local.String(), s.Remote.String(), s.State, s.PID})
	}
	return e.emit(ss, func(w io.Writer) error {
		t := newTable(w, "PROTO", "LOCAL", "REMOTE", "STATE", "PID")
		for _, s := range ss {
			t.row(s.Proto, s.Local, s.Remote, s.State, strconv.Itoa(s.PID))
		}
		return t.flush()
	})
}

// vmiModule is a module as vmi modules prints it in JSON.
type vmiModule struct {
	Name   string `json:"name"`
	Size   uint64 `json:"size"`
	State  string `json:"state"`
	Hidden bool   `json:"hidden"`
}

func vmiModules(e *env, args []string) error {
	st, err := e.scanGuest("vmi modules", args)
	if err != nil {
		return err
	}
	ms := make([]vmiModule, 0, len(st.Modules))
	for _, m := range st.Modules {
		ms = append(ms, vmiModule{m.Name, m.Size, m.State, m.Hidden})
	}
	return e.emit(ms, func(w io.Writer) error {
		t := newTable(w, "NAME", "SIZE", "STATE", "FLAGS")
		for _, m := range ms {
			t.row(m.Name, strconv.FormatUint(m.Size, 10), m.State, marks(m.Hidden, false, false))
		}
		return t.flush()
	})
}

// marks is the FLAGS column: HIDDEN, FAKE (a fake kernel thread), RWX
// (writable and executable anonymous memory), or "-".
func marks(hidden, fake, rwx bool) string {
	var m []string
	for _, f := range []struct {
		on   bool
		name string
	}{{hidden, "HIDDEN"}, {fake, "FAKE"}, {rwx, "RWX"}} {
		if f.on {
			m = append(m, f.name)
		}
	}
	if m == nil {
		return "-"
	}
	return strings.Join(m, ",")
}
