package guest

import "sort"

// taskSpec is a thread group to lay out.
type taskSpec struct {
	pid, ppid int
	comm      string
	kthread   bool
	uid       uint32
	threads   int
	argv      []string
	exe       []string // path components; nil: no executable
	deleted   bool     // the executable was unlinked
	rss       [mmCounters]int64
	socks     []sockSpec
	vmas      []vmaSpec
	hidden    bool // in the PID table only
	unlisted  bool // in neither the task list nor the PID table
	threadOf  int  // a thread of this pid's group (in the PID table only)
	zombie    bool // no mm
}

// addTask lays out a task_struct with its cred, signal, mm (and user
// memory with the arguments), files and sockets; it joins the task list
// unless hidden, and the PID table when the image is finished.
func (im *image) addTask(s taskSpec) uint64 {
	const t = "task_struct"
	task := im.alloc(taskSize)
	im.put32(task+im.o(t, "pid"), uint32(s.pid))
	im.put32(task+im.o(t, "tgid"), uint32(s.pid))
	copy(im.at(task+im.o(t, "comm")), s.comm)
	im.field(task, t, "start_time", uint64(s.pid)*1e6)
	im.field(task, t, "group_leader", task)
	if s.threadOf != 0 {
		leader := im.tasksByPID[s.threadOf]
		im.field(task, t, "group_leader", leader)
		im.put32(task+im.o(t, "tgid"), uint32(s.threadOf))
		s.hidden, s.zombie = true, true // not listed; shares the leader's mm (not read)
	}
	parent := im.initTask
	if p, ok := im.tasksByPID[s.ppid]; ok {
		parent = p
	}
	im.field(task, t, "real_parent", parent)
	cred := im.alloc(0x20)
	im.put32(cred+im.o("cred", "uid"), s.uid)
	im.field(task, t, "cred", cred)
	sig := im.alloc(0x20)
	im.put32(sig+im.o("signal_struct", "nr_threads"), uint32(max(s.threads, 1)))
	im.field(task, t, "signal", sig)
	if s.kthread {
		im.field(task, t, "flags", pfKthread)
	} else if !s.zombie {
		im.field(task, t, "mm", im.mm(s))
	}
	if len(s.socks) > 0 {
		im.field(task, t, "files", im.files(s.socks))
	}
	if !s.hidden && !s.unlisted {
		im.listAdd(im.initTask+im.o(t, "tasks"), task+im.o(t, "tasks"))
	}
	im.tasksByPID[s.pid] = task
	if s.unlisted {
		return task
	}
	pid := im.alloc(0x40)
	im.put(pid+im.o("pid", "tasks"), task+im.o(t, "pid_links"))
	im.pids[s.pid] = pid
	return task
}

func (im *image) mm(s taskSpec) uint64 {
	const m = "mm_struct"
	mm := im.alloc(0x80)
	im.field(mm, m, "pgd", im.alloc(4096))
	var args []byte
	for _, a := range s.argv {
		args = append(append(args, a...), 0)
	}
	if len(args) > 0 {
		va := im.alloc(uint64(len(args)))
		copy(im.at(va), args)
		uva := va - kbase + ubase // the same bytes, seen from user space
		im.field(mm, m, "arg_start", uva)
		im.field(mm, m, "arg_end", uva+uint64(len(args)))
	}
	if s.exe != nil {
		f := im.file(s.exe...)
		if s.deleted {
			d := im.get(f + im.o("file", "f_path") + im.o("path", "dentry"))
			im.field(d, "dentry", "d_hash.pprev", 0)
		}
		im.field(mm, m, "exe_file", f)
	}
	for i, n := range s.rss {
		im.put(mm+im.o(m, "rss_stat.count")+8*uint64(i), uint64(n))
	}
	if len(s.vmas) > 0 {
		im.put(mm+im.o(m, "mm_mt")+im.o("maple_tree", "ma_root"), im.mapleTree(mm, s.vmas))
	}
	return mm
}

func (im *image) files(socks []sockSpec) uint64 {
	fdt := im.alloc(0x10)
	n := uint64(len(socks) + 3)
	fds := im.alloc(8 * n)
	im.put32(fdt+im.o("fdtable", "max_fds"), uint32(n))
	im.field(fdt, "fdtable", "fd", fds)
	im.put(fds, im.file("dev", "console")) // fd 0: not a socket; fd 1 closed
	for i, s := range socks {
		im.put(fds+8*uint64(i+2), im.socketFile(s))
	}
	files := im.alloc(0x40)
	im.field(files, "files_struct", "fdt", fdt)
	return files
}

// addModule lays out a module with its kobject in the kset; a hidden one
// is left out of the module list.
func (im *image) addModule(name string, size uint32, hidden bool) uint64 {
	mod := im.alloc(0x100)
	copy(im.at(mod+im.o("module", "name")), name)
	im.put32(mod+im.o("module", "core_layout.size"), size)
	if !hidden {
		im.listAdd(im.k.sym["modules"], mod+im.o("module", "list"))
	}
	mk := mod + im.o("module", "mkobj")
	im.field(mk, "module_kobject", "mod", mod)
	kobj := mk + im.o("module_kobject", "kobj")
	s := im.alloc(uint64(len(name) + 1))
	copy(im.at(s), name)
	im.field(kobj, "kobject", "name", s)
	im.listAdd(im.kset+im.o("kset", "list"), kobj+im.o("kobject", "entry"))
	return mod
}

// addBuiltinKobject adds a kset entry of a built-in module: no module.
func (im *image) addBuiltinKobject() {
	mk := im.alloc(0x80)
	kobj := mk + im.o("module_kobject", "kobj")
	im.listAdd(im.kset+im.o("kset", "list"), kobj+im.o("kobject", "entry"))
}

// finish lays out the PID table: an xarray of one or two levels of
// 64-slot nodes.
func (im *image) finish() *image {
	nrs := make([]int, 0, len(im.pids))
	for nr := range im.pids {
		nrs = append(nrs, nr)
	}
	sort.Ints(nrs)
	node := func(shift uint8) uint64 {
		n := im.alloc(im.o("xa_node", "slots") + 8*xaChunk)
		im.at(n + im.o("xa_node", "shift"))[0] = shift
		return n
	}
	slot := func(n uint64, i int, e uint64) { im.put(n+im.o("xa_node", "slots")+8*uint64(i), e) }
	root := node(6)
	leaves := map[int]uint64{}
	for _, nr := range nrs {
		if nr >= xaChunk*xaChunk {
			panic("synthetic pid table: pid too large")
		}
		hi := nr / xaChunk
		if leaves[hi] == 0 {
			leaves[hi] = node(0)
			slot(root, hi, leaves[hi]+2)
		}
		slot(leaves[hi], nr%xaChunk, im.pids[nr])
	}
	im.put(im.k.sym["init_pid_ns"]+im.o("pid_namespace", "idr.idr_rt.xa_head"), root+2)
	return im
}

// runqueues lays out per-CPU run queues: CPU i runs curr[i] and has
// queued[i] waiting in its CFS tree, under one task group's entity (so
// the walk must descend into the group's own queue).
func (im *image) runqueues(curr []uint64, queued [][]uint64) {
	const areaOff = 0x1000 // runqueues' offset in each CPU's per-CPU area
	n := len(curr)
	offsets := im.alloc(8 * uint64(n))
	for cpu := range n {
		area := im.alloc(areaOff + 0x100)
		im.put(offsets+8*uint64(cpu), area)
		rq := area + areaOff
		im.field(rq, "rq", "curr", curr[cpu])
		if len(queued[cpu]) == 0 {
			continue
		}
		group := im.alloc(0x40) // the group's sched_entity
		q := im.alloc(0x20)     // its cfs_rq
		im.field(group, "sched_entity", "my_q", q)
		im.field(rq, "rq", "cfs.tasks_timeline.rb_root.rb_node", group+im.o("sched_entity", "run_node"))
		// The group's tasks: a right spine is a valid (if unbalanced) tree.
		var prev uint64
		for i, task := range queued[cpu] {
			node := task + im.o("task_struct", "se") + im.o("sched_entity", "run_node")
			if i == 0 {
				im.field(q, "cfs_rq", "tasks_timeline.rb_root.rb_node", node)
			} else {
				im.field(prev, "rb_node", "rb_right", node)
			}
			prev = node
		}
	}
	im.k.sym["runqueues"] = areaOff // per-CPU: an offset, not an address
	im.k.sym["__per_cpu_offset"] = offsets
	im.k.sym["nr_cpu_ids"] = im.alloc(8)
	im.put32(im.k.sym["nr_cpu_ids"], uint32(n))
}
