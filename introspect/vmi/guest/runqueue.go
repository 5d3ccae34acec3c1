package guest

// The run-queue cross-view: every CPU's runqueue (per-CPU struct rq)
// knows the task it runs (rq->curr) and, in CFS's red-black tree, the
// tasks waiting to run. A task there whose thread group the task list
// lacks is hidden, even from the PID table. The walk is optional: a
// kernel without the symbols or members skips it.

// rqLayout is what the run-queue walk reads.
type rqLayout struct {
	runqueues, perCPUOffset, nrCPUIDs uint64 // symbols
	rqCurr, rqRoot                    uint64 // rq.curr, rq.cfs.tasks_timeline.rb_root.rb_node
	cfsRoot, seRunNode, seMyQ         uint64 // within cfs_rq and sched_entity; seMyQ may be noOffset
	taskSE, rbLeft, rbRight           uint64
}

// maxCPUs bounds the CPUs whose run queues are read (NR_CPUS is 8192 in
// Debian's kernel).
const maxCPUs = 8192

// pfIdle is PF_IDLE: a CPU's idle task, pid 0 and in no list.
const pfIdle = 0x2

// resolveRunqueues resolves the walk, or returns nil when the kernel
// lacks any part of it.
func resolveRunqueues(k Kernel) *rqLayout {
	var l rqLayout
	var err error
	syms := []struct {
		dst  *uint64
		name string
	}{{&l.runqueues, "runqueues"}, {&l.perCPUOffset, "__per_cpu_offset"}, {&l.nrCPUIDs, "nr_cpu_ids"}}
	for _, s := range syms {
		if *s.dst, err = k.Symbol(s.name); err != nil {
			return nil
		}
	}
	r := &resolver{k: k}
	var ok [7]bool
	l.rqCurr, ok[0] = r.try("rq", "curr")
	l.rqRoot, ok[1] = r.try("rq", "cfs.tasks_timeline.rb_root.rb_node")
	l.cfsRoot, ok[2] = r.try("cfs_rq", "tasks_timeline.rb_root.rb_node")
	l.seRunNode, ok[3] = r.try("sched_entity", "run_node")
	l.taskSE, ok[4] = r.try("task_struct", "se")
	l.rbLeft, ok[5] = r.try("rb_node", "rb_left")
	l.rbRight, ok[6] = r.try("rb_node", "rb_right")
	for _, o := range ok {
		if !o {
			return nil
		}
	}
	l.seMyQ = noOffset // without CONFIG_FAIR_GROUP_SCHED every entity is a task's
	if off, ok := r.try("sched_entity", "my_q"); ok {
		l.seMyQ = off
	}
	return &l
}

// walkRunqueues adds, as hidden, the thread groups of tasks on a run
// queue that neither the task list nor the PID table showed.
func (s *scan) walkRunqueues() error {
	rl := s.l.rq
	if rl == nil {
		return nil
	}
	n, ok := s.r.u64(rl.nrCPUIDs)
	if !ok {
		s.skip("run queue")
		return nil
	}
	n = min(n&0xffffffff, maxCPUs)
	for cpu := range n {
		if err := s.alive(); err != nil {
			return err
		}
		off, ok := s.r.u64(rl.perCPUOffset + 8*cpu)
		if !ok {
			s.skip("run queue")
			continue
		}
		rq := rl.runqueues + off
		if curr, ok := s.r.ptr(rq + rl.rqCurr); ok && curr != 0 {
			s.addRunning(curr)
		}
		s.walkCFS(rq + rl.rqRoot)
	}
	return nil
}

// walkCFS walks a CFS red-black tree of sched_entities from the root
// pointer at va, into group entities' own queues.
func (s *scan) walkCFS(va uint64) {
	rl := s.l.rq
	root, ok := s.r.ptr(va)
	if !ok {
		s.skip("run queue")
		return
	}
	stack := []uint64{root}
	seen := map[uint64]bool{}
	for len(stack) > 0 {
		node := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if node == 0 || seen[node] {
			continue
		}
		if len(seen) == s.lim.Tasks {
			s.truncated("run queue: limit")
			return
		}
		seen[node] = true
		left, ok1 := s.r.ptr(node + rl.rbLeft)
		right, ok2 := s.r.ptr(node + rl.rbRight)
		if !ok1 || !ok2 {
			s.skip("run queue")
			continue
		}
		stack = append(stack, left, right)
		se := node - rl.seRunNode
		if rl.seMyQ != noOffset {
			myq, ok := s.r.ptr(se + rl.seMyQ)
			if !ok {
				s.skip("run queue")
				continue
			}
			if myq != 0 { // a task group's entity: its own queue holds the tasks
				if q, ok := s.r.ptr(myq + rl.cfsRoot); ok && q != 0 {
					stack = append(stack, q)
				}
				continue
			}
		}
		s.addRunning(se - rl.taskSE)
	}
}

// addRunning marks the thread group of a task found running or runnable,
// and adds it, as hidden, when it is not known yet.
func (s *scan) addRunning(task uint64) {
	l := s.l
	if i, known := s.tasks[task]; known {
		s.st.Processes[i].Runnable = true
		return
	}
	if task == l.initTask {
		return // CPU 0's idle task
	}
	leader, ok1 := s.r.ptr(task + l.taskGroupLeader)
	flags, ok2 := s.r.u64(task + l.taskFlags)
	if !ok1 || !ok2 || leader == 0 {
		s.skip("task")
		return
	}
	if flags&pfIdle != 0 || leader == l.initTask {
		return
	}
	if i, known := s.tasks[leader]; known {
		s.st.Processes[i].Runnable = true
		return
	}
	v, ok := s.r.obj(&s.taskBuf, leader, l.taskSpan)
	if !ok {
		s.skip("task")
		return
	}
	p := s.addTask(leader, v)
	p.Hidden, p.Runnable = true, true
}
