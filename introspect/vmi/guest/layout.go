package guest

import (
	"strings"

	"imgward/errors"
)

// layout is every offset and global a scan uses, resolved once from a
// Kernel so that a scan does no lookups. Offsets are bytes from the start
// of the struct named by the field's prefix.
type layout struct {
	// Globals.
	initTask, modules, moduleKset, initPidNs, socketFileOps uint64

	// task_struct and what hangs off it.
	taskTasks, taskPid, taskTgid, taskRealParent, taskGroupLeader  uint64
	taskPidLinks, taskMM, taskCred, taskComm, taskStart, taskFlags uint64
	taskSignal, taskFiles                                          uint64
	taskSpan                                                       span
	signalThreads, credUID                                         uint64

	// mm_struct.
	mmPgd, mmArgStart, mmArgEnd, mmExe, mmRoot uint64
	mmRSS, mmRSSStride                         uint64 // counter i at mmRSS + i*mmRSSStride
	mmSpan                                     span

	// Files and paths.
	filePath, fileOp, filePriv, pathMnt, pathDentry uint64
	dentryParent, dentryName, dentryHashPprev       uint64
	qstrLen, qstrName                               uint64
	mntRoot, mountMnt, mountParent, mountPoint      uint64
	filesFdt, fdtMax, fdtFd                         uint64

	// Sockets.
	socketSk                                           uint64
	skFamily, skState, skNum, skDport, skType, skProto uint64
	skSaddr, skDaddr, skV6Saddr, skV6Daddr             uint64
	skSpan                                             span

	// Modules and their kobjects.
	modList, modName, modState, modSize, modMkobj      uint64
	mkobjKobj, mkobjMod, kobjEntry, kobjName, ksetList uint64

	// The PID xarray.
	pidnsXaHead, xaShift, xaSlots, pidTasks uint64

	// The VMA maple tree.
	rangePivot, rangeSlot, rangeSlots          uint64
	arangePivot, arangeSlot, arangeSlots       uint64
	vmaStart, vmaEnd, vmaMM, vmaFlags, vmaFile uint64
	vmaSpan                                    span

	rq *rqLayout // nil: the kernel lacks what the run-queue walk needs
}

// span is the bytes of a struct that a scan reads at once: one read per
// object instead of one per member.
type span struct{ lo, n uint64 }

// spanOf covers the members at offs, each at most 16 bytes wide (the
// widest a scan decodes: an IPv6 address), plus extra bytes after the
// last (a task's comm).
func spanOf(offs ...uint64) span {
	lo, hi := offs[0], offs[0]
	for _, o := range offs {
		lo, hi = min(lo, o), max(hi, o)
	}
	return span{lo: lo, n: hi - lo + 16}
}

// maxOffset bounds every offset and size taken from a Kernel: the largest
// struct a scan reads (task_struct) is under 16 KiB, and the kernel image,
// with its BTF, is the guest's to choose.
const maxOffset = 1 << 16

// resolver collects the first lookup error of each missing name, so that
// one error names everything a kernel lacks.
type resolver struct {
	k       Kernel
	missing []string
	kind    errors.Kind
}

func (r *resolver) off(typ, field string) uint64 {
	v, err := r.k.Offset(typ, field)
	if err == nil && v > maxOffset {
		err = errors.E(errors.Invalid, errors.Errorf("offset %d is implausible", v))
	}
	if err != nil {
		r.fail(typ+"."+field, err)
		return 0
	}
	return v
}

// try is off for an optional member: false, and nothing recorded, when
// the kernel lacks it.
func (r *resolver) try(typ, field string) (uint64, bool) {
	v, err := r.k.Offset(typ, field)
	return v, err == nil && v <= maxOffset
}

func (r *resolver) sym(name string) uint64 {
	v, err := r.k.Symbol(name)
	if err != nil {
		r.fail("symbol "+name, err)
	}
	return v
}

func (r *resolver) size(typ string) uint64 {
	v, err := r.k.Size(typ)
	if err == nil && v > maxOffset {
		err = errors.E(errors.Invalid, errors.Errorf("size %d is implausible", v))
	}
	if err != nil {
		r.fail("sizeof "+typ, err)
		return 0
	}
	return v
}

func (r *resolver) fail(what string, err error) {
	r.missing = append(r.missing, what)
	if r.kind == errors.Other {
		r.kind = errors.KindOf(err)
	}
}

func (r *resolver) err(op string) error {
	if len(r.missing) == 0 {
		return nil
	}
	kind := r.kind
	if kind == errors.Other {
		kind = errors.Invalid
	}
	return errors.E(op, kind, errors.Msg("unsupported kernel: it lacks "+strings.Join(r.missing, ", ")))
}
