package guest

import (
	"context"

	"imgward/errors"
)

// scan is the state of one Scan.
type scan struct {
	ctx context.Context
	l   *layout
	lim Limits
	r   reader
	st  State

	tasks map[uint64]int // task_struct address → index in st.Processes
	fds   int            // fd slots read so far, against lim.FDs
	vmas  int            // VMAs read so far, against lim.VMAs

	paths  map[uint64]string    // file → path (filePath)
	dpaths map[[2]uint64]string // vfsmount, dentry → path

	// Buffers reused from one object to the next (reader.obj).
	taskBuf, mmBuf, sockBuf, vmaBuf, modBuf, fdBuf, argBuf []byte
	maple                                                  struct {
		stack, slots []mapleFrame
		node         []byte
		seen         map[uint64]bool
	}
}

// Scan reads the guest's processes, sockets, modules and mappings, and
// makes the cross-views. It fails only when init_task cannot be read (the
// memory is not this kernel's) or ctx ends; any other unreadable object
// is skipped and counted. Run it on a paused guest for an exact view; on
// a live one, State.Torn says whether lists moved under it.
func (sc *Scanner) Scan(ctx context.Context, mem Memory) (*State, error) {
	const op = "guest.Scan"
	s := &scan{ctx: ctx, l: &sc.l, lim: sc.Limits, r: reader{mem: mem}, tasks: map[uint64]int{},
		paths: map[uint64]string{}, dpaths: map[[2]uint64]string{}}
	if _, ok := s.r.obj(&s.taskBuf, s.l.initTask, s.l.taskSpan); !ok {
		return nil, errors.E(op, errors.Invalid, errors.Msg("init_task is not readable: the memory, or its page tables, are not this kernel's"))
	}
	steps := []func() error{s.walkTasks, s.walkPIDs, s.walkRunqueues, s.readProcesses, s.walkModules}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, errors.E(op, err)
		}
	}
	markFakeKthreads(s.st.Processes)
	return &s.st, nil
}

// alive is the context's error, wrapped with the kind a caller retries.
func (s *scan) alive() error {
	if err := s.ctx.Err(); err != nil {
		return errors.E(errors.Unavailable, err)
	}
	return nil
}

// skip counts an object left out, by what it was.
func (s *scan) skip(what string) {
	s.st.Skipped++
	if s.st.SkippedBy == nil {
		s.st.SkippedBy = map[string]int{}
	}
	s.st.SkippedBy[what]++
}

func (s *scan) truncated(what string) {
	s.st.Truncated = append(s.st.Truncated, what)
}
