package main

import "imgward/introspect/vmi"

const collectVMIUsage = `usage: imgward collect vmi --instance ID --qmp PATH [--every D] [--once] [--out FILE]

Introspect a QEMU virtual machine from the hypervisor's side, as the
instance ID, and post a snapshot to the server's POST /v1/snapshots every D
until interrupted. PATH is the QMP monitor socket that QEMU serves
(-qmp unix:PATH,server=on,wait=off); each snapshot is one short QMP session,
so QEMU's one monitor client is free in between. Run it on the host: QEMU
and the host kernel count what it reports (run state, vCPUs, disk I/O,
balloon, the QEMU process's CPU time and memory), so the guest cannot forge
it. It does not read the guest's memory. The token must be an admin's or a
collector's bound to the instance's host (imgward user create --role
collector --hosts). The features are listed in docs/SNAPSHOT.md.

A failure to reach the server, or a QEMU that does not answer in time, is
reported on stderr and the next period tries again; a refusal (4xx), a
socket that does not speak QMP, or a QEMU that has quit ends the command.

Flags:
  --instance ID   the instance the snapshots describe (i- and 16 hex digits)
  --qmp PATH      QEMU's QMP unix socket
  --every D       the period between snapshots (default 10s)
  --once          take one snapshot and exit
  --out FILE      write NDJSON snapshots to FILE (- for stdout) instead of posting
`

func collectVMI(e *env, args []string) error {
	fs := e.bareFlags("collect vmi")
	f := addCollectFlags(fs)
	qmp := fs.String("qmp", "", "")
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
	return e.collect(f, c.Snapshot)
}
