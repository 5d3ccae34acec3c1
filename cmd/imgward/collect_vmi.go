package main

import "imgward/introspect/vmi"

const collectVMIUsage = `usage: imgward collect vmi --instance ID --qmp PATH [--mem PATH --kernel VMLINUZ [--machine TYPE] [--live]] [--every D] [--once] [--out FILE]

Introspect a QEMU virtual machine from the hypervisor's side, as the
instance ID, and post a snapshot to the server's POST /v1/snapshots every D
until interrupted. PATH is the QMP monitor socket that QEMU serves
(-qmp unix:PATH,server=on,wait=off); each snapshot is one short QMP session,
so QEMU's one monitor client is free in between. Run it on the host: QEMU
and the host kernel count what it reports (run state, vCPUs, disk I/O,
balloon, the QEMU process's CPU time and memory), so the guest cannot forge
it. The token must be an admin's or a collector's bound to the instance's
host (imgward user create --role collector --hosts). The features are
listed in docs/SNAPSHOT.md.

With --mem and --kernel it also reads the guest's memory, with no agent in
the guest: its processes, listening and connected sockets, kernel modules,
writable-and-executable mappings, and what the guest hides (a process
unlinked from the task list, a module unlinked from the module list, a
process dressed as a kernel thread). --mem is the file that backs the
guest's RAM (QEMU's -object memory-backend-file,...,mem-path=PATH,share=on
with -machine q35,memory-backend=...), --kernel the vmlinuz (or vmlinux)
the guest booted; its kallsyms and BTF say where everything is, so no
System.map or debug package is needed. Each scan pauses the guest through
QMP for its duration (about a millisecond), so that the guest cannot change
what is read while it is read; --live scans without pausing and retries a
scan that the guest's changes tore.

A failure to reach the server, or a QEMU that does not answer in time, is
reported on stderr and the next period tries again; a refusal (4xx), a
socket that does not speak QMP, a QEMU that has quit, or a kernel that is
not the guest's ends the command.

Flags:
  --instance ID      the instance the snapshots describe (i- and 16 hex digits)
  --qmp PATH         QEMU's QMP unix socket
  --mem PATH         the guest's RAM file (with --kernel: read guest memory too)
  --kernel VMLINUZ   the guest's kernel image
  --machine TYPE     the guest's machine type: q35 (default) or pc (i440fx)
  --live             scan the guest's memory without pausing it
  --every D          the period between snapshots (default 10s)
  --once             take one snapshot and exit
  --out FILE         write NDJSON snapshots to FILE (- for stdout) instead of posting
`

func collectVMI(e *env, args []string) error {
	fs := e.bareFlags("collect vmi")
	f := addCollectFlags(fs)
	qmp := fs.String("qmp", "", "")
	g := addGuestFlags(fs)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if err := f.check(); err != nil {
		return err
	}
	if *qmp == "" {
		return usageError("--qmp PATH is required")
	}
	c := &vmi.Collector{Socket: *qmp, Instance: *f.instance}
	if *g.mem != "" || *g.kernel != "" {
		gm, err := g.guest()
		if err != nil {
			return err
		}
		defer gm.Close()
		c.Guest = gm
	} else if *g.live || *g.machine != "q35" {
		return usageError("--live and --machine need --mem and --kernel")
	}
	return e.collect(f, c.Snapshot)
}
