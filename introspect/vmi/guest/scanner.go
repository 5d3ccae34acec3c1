package guest

import "imgward/errors"

// Limits bound a scan, so that a guest's lists, however long or looped,
// cost a bounded time. A walk that reaches a limit stops there and says so
// in State.Truncated.
type Limits struct {
	Tasks    int // thread groups in the task list, and threads in the PID table
	FDs      int // file-descriptor slots read, over all processes
	VMAs     int // memory mappings read, over all processes
	Modules  int // modules in the module list, and kobjects in the module kset
	PathLen  int // path components of an executable
	ArgBytes int // bytes of one command line
}

// DefaultLimits fit the largest guest the scan is meant for (pid_max is
// 32768 by default) with room, and keep a scan well under a second.
var DefaultLimits = Limits{
	Tasks:    1 << 16,
	FDs:      1 << 20,
	VMAs:     1 << 20,
	Modules:  1 << 12,
	PathLen:  64,
	ArgBytes: 4096,
}

// Scanner scans one guest kernel build: its offsets and symbols are
// resolved once, at NewScanner. It keeps nothing from one scan to the
// next, so scans may run at once (of the same guest or, with the same
// kernel at the same address, of others).
type Scanner struct {
	l      layout
	Limits Limits
}

// NewScanner resolves everything a scan reads from k. A kernel that lacks
// a symbol or member the scan needs is an error naming each one (kind
// Invalid or NotExist, as k reports it).
func NewScanner(k Kernel) (*Scanner, error) {
	const op = "guest.NewScanner"
	r := &resolver{k: k}
	l := resolve(r)
	if err := r.err(op); err != nil {
		return nil, err
	}
	if !l.mapleSound() {
		return nil, errors.E(op, errors.Invalid, errors.Msg("unsupported kernel: implausible maple node layout"))
	}
	return &Scanner{l: l, Limits: DefaultLimits}, nil
}

func resolve(r *resolver) layout {
	var l layout
	l.initTask = r.sym("init_task")
	l.modules = r.sym("modules")
	l.moduleKset = r.sym("module_kset")
	l.initPidNs = r.sym("init_pid_ns")
	l.socketFileOps = r.sym("socket_file_ops")
	resolveTask(r, &l)
	resolveFiles(r, &l)
	resolveSock(r, &l)
	resolveModule(r, &l)
	resolveMaple(r, &l)
	l.rq = resolveRunqueues(r.k)
	return l
}

func resolveTask(r *resolver, l *layout) {
	const t = "task_struct"
	l.taskTasks, l.taskPid, l.taskTgid = r.off(t, "tasks"), r.off(t, "pid"), r.off(t, "tgid")
	l.taskRealParent, l.taskGroupLeader = r.off(t, "real_parent"), r.off(t, "group_leader")
	l.taskPidLinks, l.taskMM, l.taskCred = r.off(t, "pid_links"), r.off(t, "mm"), r.off(t, "cred")
	l.taskComm, l.taskStart, l.taskFlags = r.off(t, "comm"), r.off(t, "start_time"), r.off(t, "flags")
	l.taskSignal, l.taskFiles = r.off(t, "signal"), r.off(t, "files")
	l.taskSpan = spanOf(l.taskTasks, l.taskPid, l.taskTgid, l.taskRealParent, l.taskGroupLeader,
		l.taskPidLinks, l.taskMM, l.taskCred, l.taskComm, l.taskStart, l.taskSignal, l.taskFiles)
	// flags, near the struct's start, is read on its own: in the span it
	// would triple the bytes read of each task (Debian 6.1: 3 KiB, not 1).
	l.signalThreads, l.credUID = r.off("signal_struct", "nr_threads"), r.off("cred", "uid")

	const m = "mm_struct"
	l.mmPgd, l.mmArgStart, l.mmArgEnd = r.off(m, "pgd"), r.off(m, "arg_start"), r.off(m, "arg_end")
	// The root entry of the VMAs' maple tree, mm_mt.ma_root.
	l.mmExe, l.mmRoot = r.off(m, "exe_file"), r.off(m, "mm_mt")+r.off("maple_tree", "ma_root")
	// Linux 6.1 counts RSS in atomic_long_t rss_stat.count[]; 6.2 and later
	// in struct percpu_counter rss_stat[], whose count is the sum but for
	// what the CPUs have not folded in yet.
	if off, ok := r.try(m, "rss_stat.count"); ok {
		l.mmRSS, l.mmRSSStride = off, 8
	} else {
		l.mmRSS = r.off(m, "rss_stat") + r.off("percpu_counter", "count")
		l.mmRSSStride = r.size("percpu_counter")
	}
	l.mmSpan = spanOf(l.mmPgd, l.mmArgStart, l.mmArgEnd, l.mmExe, l.mmRoot,
		l.mmRSS, l.mmRSS+(mmCounters-1)*l.mmRSSStride)
}

func resolveFiles(r *resolver, l *layout) {
	l.filePath, l.fileOp, l.filePriv = r.off("file", "f_path"), r.off("file", "f_op"), r.off("file", "private_data")
	l.pathMnt, l.pathDentry = r.off("path", "mnt"), r.off("path", "dentry")
	l.dentryParent, l.dentryName = r.off("dentry", "d_parent"), r.off("dentry", "d_name")
	l.dentryHashPprev = r.off("dentry", "d_hash.pprev")
	l.qstrLen, l.qstrName = r.off("qstr", "len"), r.off("qstr", "name")
	l.mntRoot = r.off("vfsmount", "mnt_root")
	l.mountMnt, l.mountParent, l.mountPoint = r.off("mount", "mnt"), r.off("mount", "mnt_parent"), r.off("mount", "mnt_mountpoint")
	l.filesFdt, l.fdtMax, l.fdtFd = r.off("files_struct", "fdt"), r.off("fdtable", "max_fds"), r.off("fdtable", "fd")
}

func resolveSock(r *resolver, l *layout) {
	l.socketSk = r.off("socket", "sk")
	const s = "sock"
	l.skFamily, l.skState = r.off(s, "__sk_common.skc_family"), r.off(s, "__sk_common.skc_state")
	l.skNum, l.skDport = r.off(s, "__sk_common.skc_num"), r.off(s, "__sk_common.skc_dport")
	l.skSaddr, l.skDaddr = r.off(s, "__sk_common.skc_rcv_saddr"), r.off(s, "__sk_common.skc_daddr")
	l.skV6Saddr, l.skV6Daddr = r.off(s, "__sk_common.skc_v6_rcv_saddr"), r.off(s, "__sk_common.skc_v6_daddr")
	l.skType, l.skProto = r.off(s, "sk_type"), r.off(s, "sk_protocol")
	l.skSpan = spanOf(l.skFamily, l.skState, l.skNum, l.skDport, l.skSaddr, l.skDaddr,
		l.skV6Saddr, l.skV6Daddr, l.skType, l.skProto)
}

func resolveModule(r *resolver, l *layout) {
	const m = "module"
	l.modList, l.modName, l.modState, l.modMkobj = r.off(m, "list"), r.off(m, "name"), r.off(m, "state"), r.off(m, "mkobj")
	// The size of the module's core (text and data): 6.1's core_layout;
	// 6.4 split it into mem[]. Informative only, so optional.
	l.modSize = noOffset
	if off, ok := r.try(m, "core_layout.size"); ok {
		l.modSize = off
	}
	l.mkobjKobj, l.mkobjMod = r.off("module_kobject", "kobj"), r.off("module_kobject", "mod")
	l.kobjEntry, l.kobjName = r.off("kobject", "entry"), r.off("kobject", "name")
	l.ksetList = r.off("kset", "list")

	l.pidnsXaHead = r.off("pid_namespace", "idr.idr_rt.xa_head")
	l.xaShift, l.xaSlots = r.off("xa_node", "shift"), r.off("xa_node", "slots")
	l.pidTasks = r.off("pid", "tasks")
}

func resolveMaple(r *resolver, l *layout) {
	// A range node's slots fill it to its end (their last one shares its
	// place with the node's metadata); an allocation node's end at gap[].
	l.rangePivot, l.rangeSlot = r.off("maple_range_64", "pivot"), r.off("maple_range_64", "slot")
	if sz := r.size("maple_range_64"); sz > l.rangeSlot {
		l.rangeSlots = (sz - l.rangeSlot) / 8
	}
	l.arangePivot, l.arangeSlot = r.off("maple_arange_64", "pivot"), r.off("maple_arange_64", "slot")
	if gap := r.off("maple_arange_64", "gap"); gap > l.arangeSlot {
		l.arangeSlots = (gap - l.arangeSlot) / 8
	}
	const v = "vm_area_struct"
	l.vmaStart, l.vmaEnd, l.vmaMM = r.off(v, "vm_start"), r.off(v, "vm_end"), r.off(v, "vm_mm")
	l.vmaFlags, l.vmaFile = r.off(v, "vm_flags"), r.off(v, "vm_file")
	l.vmaSpan = spanOf(l.vmaStart, l.vmaEnd, l.vmaMM, l.vmaFlags, l.vmaFile)
}

// noOffset marks an optional member the kernel lacks.
const noOffset = ^uint64(0)

// mmCounters is NR_MM_COUNTERS: file, anon, swap entries, shmem.
const mmCounters = 4

// mapleSound reports whether the maple nodes' layout makes sense: a
// handful of slots, and pivots that end inside the node. The BTF is the
// guest's kernel image's, and a crafted one must not send a scan reading
// past its buffers.
func (l *layout) mapleSound() bool {
	nodeEnd := l.mapleNodeBytes()
	return l.rangeSlots > 1 && l.rangeSlots <= 64 && l.arangeSlots > 1 && l.arangeSlots <= 64 &&
		l.rangePivot+8*(l.rangeSlots-1) <= nodeEnd && l.arangePivot+8*(l.arangeSlots-1) <= nodeEnd
}
