package guest

import (
	"net/netip"
	"time"
)

// State is what one scan read of a guest.
type State struct {
	Processes []Process // thread groups: the task list's, then the hidden ones
	Sockets   []Socket  // TCP and UDP sockets, IPv4 and IPv6, of the processes' open files
	Modules   []Module  // the module list's, then the hidden ones

	// Skipped counts objects left out because they could not be read or
	// made no sense (a pointer outside RAM, a length past its limit).
	Skipped   int
	SkippedBy map[string]int // Skipped by kind of object: "task", "mapping", "arguments"...
	// Torn counts list links whose back pointer disagreed with the walk:
	// none in a paused guest; in a live one, lists that changed as they
	// were read.
	Torn int
	// Truncated names the walks that stopped at a limit or a loop.
	Truncated []string
}

// Process is one thread group.
type Process struct {
	PID, PPID int
	UID       uint32
	Comm      string        // the task's name (task_struct.comm), at most 15 bytes
	Cmdline   string        // its arguments, NULs as spaces; empty for a kernel thread
	Exe       string        // the executable's path; " (deleted)" appended when it was unlinked
	Threads   int           // signal->nr_threads
	RSS       uint64        // resident bytes: file, anonymous and shared memory pages
	Start     time.Duration // since boot (task->start_time)
	Kernel    bool          // a kernel thread (PF_KTHREAD)
	Mappings  int           // memory mappings (VMAs), as /proc/PID/maps lists them
	RWX       int           // anonymous mappings both writable and executable
	FDs       int           // open file descriptors of its tables (0 for a process sharing another's)

	Hidden      bool // in the PID table or on a run queue, but not in the task list
	Runnable    bool // on a CPU's run queue (running, or waiting to run); false when the kernel lacks run-queue symbols
	FakeKthread bool // named like a kernel thread, but a user process

	addr, mm, files uint64
	threadFiles     []uint64 // file tables of threads that do not share files
}

// Socket is one TCP or UDP socket of a process.
type Socket struct {
	Proto         string // "tcp" or "udp"
	Local, Remote netip.AddrPort
	State         string // TCP's state ("LISTEN", "ESTABLISHED", ...); UDP: "UNCONN" or "ESTABLISHED"
	PID           int    // the first process found holding it
}

// Listening reports whether the socket takes connections or datagrams from
// anyone: a listening TCP socket or an unconnected bound UDP one, as
// procfs counts them.
func (s Socket) Listening() bool {
	if s.Proto == "tcp" {
		return s.State == "LISTEN"
	}
	return !s.Remote.Addr().IsValid() || s.Remote.Addr().IsUnspecified()
}

// Module is one loaded kernel module.
type Module struct {
	Name   string
	Size   uint64 // bytes of its core text and data; 0 when the kernel does not say
	State  string // "live", "coming", "going", "unformed"
	Hidden bool   // in the module kset (sysfs) but not in the module list
}
