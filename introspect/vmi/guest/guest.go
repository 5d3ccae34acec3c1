// Package guest reads what a Linux guest's kernel knows of itself out of
// the guest's memory, from outside the guest: its processes, their sockets
// and memory mappings, its loaded modules, and the cross-views that only
// an outside reader can make (a task in the PID table or on a run queue
// but not in the task list, a module in sysfs's kset but not in the module
// list, a process dressed as a kernel thread).
//
// The package knows the kernel's data structures (Linux 6.1, as Debian
// bookworm ships it: the task list, files_struct, the VMA maple tree, the
// PID xarray) but not where they are: every structure offset comes from
// Kernel (the kernel's BTF) and every global from Kernel.Symbol, and all
// memory goes through Memory. Another package implements both over a
// QEMU guest's RAM (introspect/vmi/guestmem, introspect/vmi/kernel).
//
// Guest memory is hostile input: the guest may have written anything
// anywhere, and a live guest rewrites its lists while they are read. Every
// walk is bounded (Limits), detects loops, and treats an unreadable or
// implausible object as skipped (counted in State.Skipped), never as a
// reason to panic or hang. Only what makes the whole scan meaningless (no
// init_task, no BTF member a walk needs) fails the scan.
package guest

// Memory reads guest virtual memory: the kernel's address space and a
// process's. A read that is not wholly mapped, or that falls outside the
// guest's RAM, fails and changes nothing in b's meaning; no read panics.
type Memory interface {
	// ReadKernel reads len(b) bytes at kernel virtual address va.
	ReadKernel(va uint64, b []byte) error
	// ReadUser reads len(b) bytes at va in the address space whose
	// page-table root is pgd: the value of mm->pgd (a kernel VA).
	ReadUser(pgd, va uint64, b []byte) error
}

// Kernel is what a scan needs to know of the guest kernel's build. A
// missing symbol, type or member is an error that names it (kind Invalid
// or NotExist).
type Kernel interface {
	// Symbol is a symbol's run-time virtual address (KASLR-relocated).
	// Per-CPU symbols (runqueues) are offsets into each CPU's area, as
	// the kernel's own kallsyms gives them, not relocated.
	Symbol(name string) (uint64, error)
	// Offset is a member's byte offset in struct or union typ; field may
	// be a dotted path through nested and anonymous members, such as
	// "__sk_common.skc_dport". A bit-field member is an error.
	Offset(typ, field string) (uint64, error)
	// Size is a type's size in bytes.
	Size(typ string) (uint64, error)
}
