package guest

import (
	"bytes"
	"strings"
)

// pageSize is the x86-64 base page: RSS counters count pages.
const pageSize = 4096

// readProcesses reads what each process's mm_struct and open files say:
// command line, executable, RSS, writable-and-executable mappings,
// sockets. Threads share their leader's mm, and most its files; the task
// list holds leaders only, so each is read once (a vfork child may share
// its parent's; the sockets are deduplicated), and the file tables of
// threads that have their own (threadFiles) as the leader's.
func (s *scan) readProcesses() error {
	seenFiles := map[uint64]bool{}
	seenSocks := map[uint64]bool{}
	for i := range s.st.Processes {
		if i%64 == 0 {
			if err := s.alive(); err != nil {
				return err
			}
		}
		p := &s.st.Processes[i]
		if p.mm != 0 {
			s.readMM(p)
		}
		if p.Kernel {
			continue
		}
		for j := -1; j < len(p.threadFiles); j++ { // the leader's table, then the threads'
			files := p.files
			if j >= 0 {
				files = p.threadFiles[j]
			}
			if files != 0 && !seenFiles[files] {
				seenFiles[files] = true
				s.readFiles(p, files, seenSocks)
			}
		}
	}
	return nil
}

func (s *scan) readMM(p *Process) {
	l := s.l
	v, ok := s.r.obj(&s.mmBuf, p.mm, l.mmSpan)
	if !ok {
		s.skip("mm")
		return
	}
	for i := uint64(0); i < mmCounters; i++ {
		if i == mmSwapEnts {
			continue
		}
		// A counter may dip below zero while per-task deltas are unfolded;
		// procfs shows such a counter as 0, and so does this.
		if n := int64(v.u64(l.mmRSS + i*l.mmRSSStride)); n > 0 {
			p.RSS += uint64(n) * pageSize
		}
	}
	pgd := v.ptr(l.mmPgd)
	p.Cmdline = s.cmdline(pgd, v.u64(l.mmArgStart), v.u64(l.mmArgEnd))
	if exe := v.ptr(l.mmExe); exe != 0 {
		p.Exe = s.filePath(exe)
	}
	p.Mappings, p.RWX = s.mappings(p.mm, v.u64(l.mmRoot))
}

// mmSwapEnts is MM_SWAPENTS, the counter of swapped-out pages, which are
// not resident.
const mmSwapEnts = 2

// cmdline reads the arguments from the process's own memory, as
// /proc/PID/cmdline does, with NULs between them turned into spaces.
func (s *scan) cmdline(pgd, start, end uint64) string {
	if pgd == 0 || end <= start || start >= 1<<63 {
		return ""
	}
	n := min(end-start, uint64(s.lim.ArgBytes))
	if uint64(cap(s.argBuf)) < n {
		s.argBuf = make([]byte, n)
	}
	b := s.argBuf[:n]
	if s.r.mem.ReadUser(pgd, start, b) != nil {
		// Not yet faulted in, or swapped out: the kernel would fault it in,
		// a reader from outside cannot.
		s.skip("arguments")
		return ""
	}
	b = bytes.TrimRight(b, "\x00")
	for i, c := range b {
		if c == 0 {
			b[i] = ' '
		}
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}
