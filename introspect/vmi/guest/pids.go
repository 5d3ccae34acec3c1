package guest

import (
	"encoding/binary"
	"slices"
)

// The PID table is an IDR, an xarray (lib/xarray.c) in
// init_pid_ns.idr: every task of every namespace has a pid number at
// level 0 there. A node pointer is the node's address + 2; a slot holds
// a struct pid pointer, a node pointer, or another internal entry (low
// bits 0b10: a sibling or retry entry, nothing to follow).
const (
	xaChunk    = 64 // XA_CHUNK_SIZE
	xaMaxDepth = 12 // 64-bit indices, 6 bits a level
)

// xaNode reports whether an xarray entry is a node pointer.
func xaNode(e uint64) bool { return e&3 == 2 && e > 4096 }

// walkPIDs walks the PID table and adds, as hidden, the thread group of
// every task there whose leader the task list lacks: a rootkit unlinks
// its process from the task list so that /proc and ps no longer show it,
// but the scheduler and the PID table still know it.
func (s *scan) walkPIDs() error {
	l := s.l
	head, ok := s.r.u64(l.initPidNs + l.pidnsXaHead)
	if !ok {
		s.skip("pid table")
		return nil
	}
	var pids []uint64
	type frame struct {
		e     uint64
		depth int
	}
	stack := []frame{{head, 0}}
	seen := map[uint64]bool{}
	node := make([]byte, l.xaSlots+8*xaChunk)
	for len(stack) > 0 {
		f := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		switch {
		case f.e == 0:
		case !xaNode(f.e):
			if f.e&3 == 0 && isKernelPtr(f.e) {
				pids = append(pids, f.e)
			}
		case seen[f.e] || f.depth >= xaMaxDepth:
			s.skip("pid table node") // a loop, or deeper than 64-bit indices go
		case len(pids)+len(stack) >= s.lim.Tasks:
			s.truncated("pid table: limit")
			stack = nil
		case s.r.mem.ReadKernel(f.e-2, node) != nil:
			s.skip("pid table node")
		default:
			seen[f.e] = true
			for i := range xaChunk {
				if e := binary.LittleEndian.Uint64(node[l.xaSlots+8*uint64(i):]); e != 0 {
					stack = append(stack, frame{e, f.depth + 1})
				}
			}
		}
	}
	return s.addHidden(pids)
}

// addHidden adds the leaders of the tasks of pids that the task list
// lacks.
func (s *scan) addHidden(pids []uint64) error {
	l := s.l
	for i, pid := range pids {
		if i%256 == 0 {
			if err := s.alive(); err != nil {
				return err
			}
		}
		first, ok := s.r.ptr(pid + l.pidTasks) // tasks[PIDTYPE_PID].first
		if !ok || first == 0 {
			continue // a pid now only a group's or session's id
		}
		task := first - l.taskPidLinks // pid_links[PIDTYPE_PID]
		leader, ok := s.r.ptr(task + l.taskGroupLeader)
		if !ok || leader == 0 {
			s.skip("pid")
			continue
		}
		if leader == l.initTask {
			continue
		}
		j, known := s.tasks[leader]
		if !known {
			v, ok := s.r.obj(&s.taskBuf, leader, l.taskSpan)
			if !ok {
				s.skip("task")
				continue
			}
			s.addTask(leader, v).Hidden = true
			j = len(s.st.Processes) - 1
		}
		if task != leader {
			s.threadFiles(&s.st.Processes[j], task)
		}
	}
	return nil
}

// threadFiles notes a thread's file table when it is not its leader's:
// a thread made with clone(CLONE_THREAD) but without CLONE_FILES has a
// table of its own, where a process could keep a socket that a scan of
// its leader's would miss. The task list holds leaders only; the PID
// table, every thread.
func (s *scan) threadFiles(p *Process, thread uint64) {
	f, ok := s.r.ptr(thread + s.l.taskFiles)
	if !ok {
		s.skip("task")
		return
	}
	if f != 0 && f != p.files && !p.Kernel && !slices.Contains(p.threadFiles, f) {
		p.threadFiles = append(p.threadFiles, f)
	}
}
