package guest

import (
	"strings"
	"time"
)

// pfKthread is PF_KTHREAD of task_struct.flags: a kernel thread.
const pfKthread = 0x00200000

// walkTasks walks the task list (the thread-group leaders) from init_task,
// which is the idle task and not listed itself.
func (s *scan) walkTasks() error {
	l := s.l
	head := l.initTask + l.taskTasks
	prev, next := head, uint64(0)
	if v, ok := s.r.ptr(head); ok {
		next = v
	}
	seen := map[uint64]bool{head: true}
	for next != head {
		if len(s.st.Processes)%64 == 0 {
			if err := s.alive(); err != nil {
				return err
			}
		}
		switch {
		case next == 0:
			s.skip("task list")
			s.truncated("task list: unreadable link")
			return nil
		case seen[next]:
			s.truncated("task list: loop")
			return nil
		case len(s.st.Processes) == s.lim.Tasks:
			s.truncated("task list: limit")
			return nil
		}
		seen[next] = true
		addr := next - l.taskTasks
		v, ok := s.r.obj(&s.taskBuf, addr, l.taskSpan)
		if !ok {
			s.skip("task")
			s.truncated("task list: unreadable task")
			return nil
		}
		if v.u64(l.taskTasks+8) != prev {
			s.st.Torn++
		}
		s.addTask(addr, v)
		prev, next = next, v.u64(l.taskTasks)
	}
	return nil
}

// addTask decodes a task_struct read at addr into a Process.
func (s *scan) addTask(addr uint64, v view) *Process {
	l := s.l
	p := Process{
		PID:   int(int32(v.u32(l.taskTgid))),
		Comm:  strings.ToValidUTF8(v.str(l.taskComm, 16), "\uFFFD"), // a process names itself as it likes
		Start: time.Duration(v.u64(l.taskStart)),
		addr:  addr,
		mm:    v.ptr(l.taskMM),
		files: v.ptr(l.taskFiles),
	}
	if flags, ok := s.r.u64(addr + l.taskFlags); ok && uint32(flags)&pfKthread != 0 {
		p.Kernel = true
		p.mm = 0 // a kernel thread borrows others' address spaces (kthread_use_mm)
	}
	s.readParent(&p, v.ptr(l.taskRealParent))
	if c := v.ptr(l.taskCred); c != 0 {
		if b, ok := s.r.u64(c + l.credUID); ok {
			p.UID = uint32(b)
		}
	}
	if sig := v.ptr(l.taskSignal); sig != 0 {
		if n, ok := s.r.u64(sig + l.signalThreads); ok {
			p.Threads = int(int32(n))
		}
	}
	s.tasks[addr] = len(s.st.Processes)
	s.st.Processes = append(s.st.Processes, p)
	return &s.st.Processes[len(s.st.Processes)-1]
}

func (s *scan) readParent(p *Process, parent uint64) {
	if i, ok := s.tasks[parent]; ok {
		p.PPID = s.st.Processes[i].PID
		return
	}
	if parent == s.l.initTask || parent == 0 {
		return // the idle task, pid 0, parents the first tasks
	}
	if b, ok := s.r.u64(parent + s.l.taskTgid); ok {
		p.PPID = int(int32(b))
	}
}
