// Package vmi introspects a QEMU virtual machine as an instance, from the
// hypervisor's side: through QEMU's QMP monitor socket, and the host's
// /proc accounting of the QEMU process. What it reports is counted by QEMU
// and the host kernel, outside the guest, so a guest cannot forge it short
// of escaping into the host.
//
// By itself the Collector sees what the hypervisor sees of the guest's
// run state, vCPUs, disks and memory balloon. With a Guest (memory.go) it
// also reads the guest's memory, VMI in the LibVMI sense: the guest
// kernel's own structures, found through the subpackages guestmem (RAM
// and page tables), kernel (symbols, types, KASLR) and guest (what a scan
// reads), in the same QMP session, which pauses the guest for the scan.
//
// Each snapshot is one QMP session: connect, read the greeting, negotiate
// capabilities, run the query commands, disconnect, so that a restarted
// QEMU is picked up and the monitor is held only briefly (QEMU serves one
// client on a socket at a time). QEMU's PID comes from the socket's peer
// credentials, and is checked against the host threads that QEMU says run
// its vCPUs.
//
// Features (docs/SNAPSHOT.md lists them with the other sources'):
//
//	numeric  vm.running          1 while the vCPUs run, else 0 (query-status)
//	         vm.vcpus            virtual CPUs (query-cpus-fast)
//	         block.rd_bytes      bytes read by the guest from its disks, summed (query-blockstats)
//	         block.wr_bytes      bytes written, summed
//	         block.rd_ops        read requests, summed
//	         block.wr_ops        write requests, summed
//	         block.flush_ops     flush requests, summed
//	         mem.balloon_bytes   memory the balloon leaves the guest (query-balloon; absent without a balloon)
//	         host.cpu_seconds    user + system CPU time of the QEMU process, all its threads
//	         host.vcpu_seconds   the same of the vCPU threads alone: the guest's own computing
//	         host.rss_bytes      resident memory of the QEMU process
//	         host.threads        threads of the QEMU process
//	sets     vm.status           one item: QEMU's run state (running, paused, guest-panicked, shutdown...)
//	         block.devices       the block devices' names (the -drive id, else the device's QOM path, else the node)
//
// QEMU no longer says whether a vCPU is halted (query-cpus, which did,
// was removed in QEMU 6.0), so there is no such feature. Sets are sorted
// and cut at snapshot.MaxSetItems items.
package vmi

import (
	"context"
	"strconv"
	"time"

	"imgward"
	"imgward/errors"
	"imgward/introspect/procfs"
	"imgward/introspect/vmi/kernel"
	"imgward/snapshot"
)

// Collector takes snapshots of one QEMU virtual machine.
type Collector struct {
	Socket   string // QEMU's QMP socket: -qmp unix:PATH,server=on,wait=off
	Instance string // the instance id the snapshots name
	Now      func() time.Time
	// Guest, when set, reads the guest's memory too, in the same QMP
	// session: each snapshot then carries the guest's processes, sockets
	// and modules beside what the hypervisor counts.
	Guest *Guest
}

// Snapshot takes one snapshot of the machine. No QEMU at the socket, or a
// QEMU that quits meanwhile, is an error of kind NotExist; a socket that
// does not speak QMP, Invalid; no answer by ctx's deadline (10 seconds
// without one), Unavailable.
func (c *Collector) Snapshot(ctx context.Context) (*snapshot.Snapshot, error) {
	const op = "vmi.Snapshot"
	if c.Socket == "" {
		return nil, errors.E(op, errors.Invalid, errors.Msg("no QMP socket"))
	}
	if c.Guest != nil {
		// Parsing the kernel takes seconds the first time (more on a
		// busy host): do it before the QMP session, whose deadline it
		// would otherwise eat into. kernel.Load caches it per file.
		if _, err := kernel.Load(c.Guest.Kernel); err != nil {
			return nil, errors.E(op, err)
		}
	}
	qc, err := dial(ctx, c.Socket)
	if err != nil {
		return nil, errors.E(op, err)
	}
	defer qc.close()
	v, err := query(ctx, qc)
	if err != nil {
		return nil, errors.E(op, err)
	}
	// Read while the session holds QEMU's socket open, so that the PID is
	// still QEMU's and not a newcomer's that reuses it.
	h, err := hostUsage(qc.pid, v.cpus)
	if err != nil {
		return nil, errors.E(op, err)
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	s := v.snapshot(c.Instance, now(), h)
	if c.Guest != nil {
		if err := c.addGuest(ctx, qc, v.status.Running, s); err != nil {
			return nil, errors.E(op, err)
		}
	}
	if err := s.Validate(); err != nil {
		return nil, errors.E(op, err)
	}
	return s, nil
}

// view is what QMP says of the machine.
type view struct {
	status  status
	cpus    cpus
	blocks  blockStats
	balloon *balloon // nil: no balloon device
}

func query(ctx context.Context, qc *client) (*view, error) {
	v := &view{}
	for _, q := range []struct {
		command string
		out     any
	}{
		{"query-status", &v.status},
		{"query-cpus-fast", &v.cpus},
		{"query-blockstats", &v.blocks},
	} {
		if err := qc.execute(ctx, q.command, q.out); err != nil {
			return nil, err
		}
	}
	var b balloon
	switch err := qc.execute(ctx, "query-balloon", &b); {
	case err == nil:
		v.balloon = &b
	case errors.KindOf(err) != errors.NotExist: // NotExist: DeviceNotActive, no balloon
		return nil, err
	}
	return v, nil
}

// host is the host kernel's accounting of the QEMU process.
type host struct {
	procfs.Usage
	vcpuSeconds float64
}

// hostUsage reads the QEMU process's accounting and its vCPU threads'. A
// thread that QEMU names but that is not a task of pid is not counted;
// when none of them is, pid is not the process that runs the guest.
func hostUsage(pid int, cs cpus) (host, error) {
	const op = "vmi.hostUsage"
	// The threads first: the process's time, read after, is then at least
	// their sum.
	var h host
	found := 0
	for _, cpu := range cs {
		if cpu.ThreadID <= 0 {
			continue
		}
		t, err := procfs.ReadUsage("", pid, cpu.ThreadID)
		if errors.KindOf(err) == errors.NotExist {
			continue
		}
		if err != nil {
			return host{}, errors.E(op, err)
		}
		h.vcpuSeconds += t.CPUSeconds
		found++
	}
	if len(cs) > 0 && found == 0 {
		return host{}, errors.E(op, errors.Invalid, errors.Msg("the socket's owner, PID "+strconv.Itoa(pid)+", runs none of the guest's vCPUs: it is not the QEMU process"))
	}
	u, err := procfs.ReadUsage("", pid, 0)
	if err != nil {
		return host{}, errors.E(op, err)
	}
	h.Usage = u
	return h, nil
}

func (v *view) snapshot(instance string, now time.Time, h host) *snapshot.Snapshot {
	var rdB, wrB, rdO, wrO, flO float64
	devices := make([]string, 0, len(v.blocks))
	for _, b := range v.blocks {
		rdB += float64(b.Stats.RdBytes)
		wrB += float64(b.Stats.WrBytes)
		rdO += float64(b.Stats.RdOps)
		wrO += float64(b.Stats.WrOps)
		flO += float64(b.Stats.FlushOp)
		if name := firstNonEmpty(b.Device, b.QDev, b.NodeName); name != "" {
			devices = append(devices, name)
		}
	}
	running := 0.0
	if v.status.Running {
		running = 1
	}
	s := &snapshot.Snapshot{
		InstanceID: imgward.InstanceID(instance), TakenAt: now, Source: snapshot.SourceVMI,
		Numeric: map[string]float64{
			"vm.running":        running,
			"vm.vcpus":          float64(len(v.cpus)),
			"block.rd_bytes":    rdB,
			"block.wr_bytes":    wrB,
			"block.rd_ops":      rdO,
			"block.wr_ops":      wrO,
			"block.flush_ops":   flO,
			"host.cpu_seconds":  h.CPUSeconds,
			"host.vcpu_seconds": h.vcpuSeconds,
			"host.rss_bytes":    float64(h.RSSBytes),
			"host.threads":      float64(h.Threads),
		},
		Sets: map[string][]string{
			"vm.status":     {v.status.Status},
			"block.devices": snapshot.ClipSet(devices),
		},
	}
	if v.balloon != nil {
		s.Numeric["mem.balloon_bytes"] = float64(v.balloon.Actual)
	}
	return s
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
