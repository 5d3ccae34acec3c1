package guest

import (
	"encoding/binary"
	"net/netip"
	"sort"

	"imgward/errors"
)

// A synthetic guest: a fake Kernel whose offsets are deliberately not
// Linux's (so that a scan that hard-codes one fails), and a flat memory
// image in which tests lay out kernel structures by hand.

const (
	kbase = uint64(0xffff888000000000) // kernel VAs: kbase + offset in the image
	ubase = uint64(0x0000700000000000) // user VAs: ubase + offset in the image
)

// fakeKernel serves offsets, sizes and symbols from maps.
type fakeKernel struct {
	off  map[string]uint64 // "type.field"
	size map[string]uint64
	sym  map[string]uint64
}

func (k *fakeKernel) Symbol(name string) (uint64, error) {
	if v, ok := k.sym[name]; ok {
		return v, nil
	}
	return 0, errors.E(errors.NotExist, errors.Errorf("no symbol %s", name))
}

func (k *fakeKernel) Offset(typ, field string) (uint64, error) {
	if v, ok := k.off[typ+"."+field]; ok {
		return v, nil
	}
	return 0, errors.E(errors.NotExist, errors.Errorf("no member %s.%s", typ, field))
}

func (k *fakeKernel) Size(typ string) (uint64, error) {
	if v, ok := k.size[typ]; ok {
		return v, nil
	}
	return 0, errors.E(errors.NotExist, errors.Errorf("no type %s", typ))
}

// newFakeKernel is a kernel layout for synthetic images; symbols are added
// as the image is built.
func newFakeKernel() *fakeKernel {
	return &fakeKernel{
		off: map[string]uint64{
			"task_struct.flags": 0x08, "task_struct.tasks": 0x10, "task_struct.pid": 0x40,
			"task_struct.tgid": 0x44, "task_struct.real_parent": 0x48, "task_struct.group_leader": 0x50,
			"task_struct.pid_links": 0x58, "task_struct.mm": 0xa0, "task_struct.cred": 0xa8,
			"task_struct.comm": 0xb0, "task_struct.start_time": 0xc0, "task_struct.signal": 0xc8,
			"task_struct.files":        0xd0,
			"signal_struct.nr_threads": 0x14, "cred.uid": 0x4,
			"mm_struct.mm_mt": 0x10, "mm_struct.pgd": 0x30, "mm_struct.arg_start": 0x38,
			"mm_struct.arg_end": 0x40, "mm_struct.exe_file": 0x48, "mm_struct.rss_stat.count": 0x58,
			"file.f_path": 0x10, "file.f_op": 0x28, "file.private_data": 0x30,
			"path.mnt": 0x0, "path.dentry": 0x8,
			"dentry.d_hash.pprev": 0x8, "dentry.d_parent": 0x18, "dentry.d_name": 0x20,
			"qstr.len": 0x4, "qstr.name": 0x8,
			"vfsmount.mnt_root": 0x0, "mount.mnt": 0x20, "mount.mnt_parent": 0x10, "mount.mnt_mountpoint": 0x18,
			"files_struct.fdt": 0x20, "fdtable.max_fds": 0x0, "fdtable.fd": 0x8,
			"socket.sk":                  0x18,
			"sock.__sk_common.skc_daddr": 0x0, "sock.__sk_common.skc_rcv_saddr": 0x4,
			"sock.__sk_common.skc_dport": 0xc, "sock.__sk_common.skc_num": 0xe,
			"sock.__sk_common.skc_family": 0x10, "sock.__sk_common.skc_state": 0x12,
			"sock.__sk_common.skc_v6_daddr": 0x38, "sock.__sk_common.skc_v6_rcv_saddr": 0x48,
			"sock.sk_type": 0x100, "sock.sk_protocol": 0x102,
			"module.state": 0x0, "module.list": 0x8, "module.name": 0x18, "module.mkobj": 0x60,
			"module.core_layout.size": 0xd0,
			"module_kobject.kobj":     0x0, "module_kobject.mod": 0x40,
			"kobject.name": 0x0, "kobject.entry": 0x8, "kset.list": 0x0,
			"pid_namespace.idr.idr_rt.xa_head": 0x18, "xa_node.shift": 0x0, "xa_node.slots": 0x28,
			"pid.tasks":            0x8,
			"maple_tree.ma_root":   0x8,
			"maple_range_64.pivot": 0x8, "maple_range_64.slot": 0x80,
			"maple_arange_64.pivot": 0x8, "maple_arange_64.slot": 0x50, "maple_arange_64.gap": 0xa0,
			"vm_area_struct.vm_start": 0x0, "vm_area_struct.vm_end": 0x8, "vm_area_struct.vm_mm": 0x10,
			"vm_area_struct.vm_flags": 0x20, "vm_area_struct.vm_file": 0x28,
			"task_struct.se": 0xe0, "sched_entity.run_node": 0x10, "sched_entity.my_q": 0x30,
			"rq.curr": 0x10, "rq.cfs.tasks_timeline.rb_root.rb_node": 0x48,
			"cfs_rq.tasks_timeline.rb_root.rb_node": 0x8, "rb_node.rb_right": 0x8, "rb_node.rb_left": 0x10,
		},
		size: map[string]uint64{"maple_range_64": 256},
		sym:  map[string]uint64{},
	}
}

// taskSize is a synthetic task_struct's.
const taskSize = 0x140

// image is a synthetic guest memory: kernel structures at kbase+off, user
// memory at ubase+off, in one byte slice.
type image struct {
	k    *fakeKernel
	mem  []byte
	next uint64

	initTask, rootMnt, rootDentry uint64
	lastTask, kset                uint64
	pids                          map[int]uint64 // pid number → struct pid
	tasksByPID                    map[int]uint64
}

// ReadKernel and ReadUser make the image a Memory. User memory needs a
// pgd that is a kernel address in the image.
func (im *image) ReadKernel(va uint64, b []byte) error {
	return im.read(va-kbase, va >= kbase, b)
}

func (im *image) ReadUser(pgd, va uint64, b []byte) error {
	if pgd < kbase || pgd-kbase >= uint64(len(im.mem)) {
		return errors.E(errors.Invalid, errors.New("bad pgd"))
	}
	return im.read(va-ubase, va >= ubase && va < kbase, b)
}

func (im *image) read(off uint64, ok bool, b []byte) error {
	if !ok || off > uint64(len(im.mem)) || uint64(len(b)) > uint64(len(im.mem))-off {
		return errors.E(errors.Invalid, errors.New("outside RAM"))
	}
	copy(b, im.mem[off:])
	return nil
}

func (im *image) alloc(n uint64) uint64 {
	im.next = (im.next + 255) &^ 255 // maple nodes are 256-byte aligned; others don't mind
	va := kbase + im.next
	im.next += n
	if im.next > uint64(len(im.mem)) {
		panic("synthetic image is full")
	}
	return va
}

func (im *image) at(va uint64) []byte        { return im.mem[va-kbase:] }
func (im *image) put(va, v uint64)           { binary.LittleEndian.PutUint64(im.at(va), v) }
func (im *image) put32(va uint64, v uint32)  { binary.LittleEndian.PutUint32(im.at(va), v) }
func (im *image) put16(va uint64, v uint16)  { binary.LittleEndian.PutUint16(im.at(va), v) }
func (im *image) get(va uint64) uint64       { return binary.LittleEndian.Uint64(im.at(va)) }
func (im *image) o(typ, field string) uint64 { return im.k.off[typ+"."+field] }

// field writes v at the member of the object at va.
func (im *image) field(va uint64, typ, field string, v uint64) { im.put(va+im.o(typ, field), v) }

// listInit makes an empty circular list head at va.
func (im *image) listInit(va uint64) { im.put(va, va); im.put(va+8, va) }

// listAdd appends node to the list at head.
func (im *image) listAdd(head, node uint64) {
	last := im.get(head + 8)
	im.put(node, head)
	im.put(node+8, last)
	im.put(last, node)
	im.put(head+8, node)
}

// newImage lays out the globals: init_task, the module list and kset,
// init_pid_ns, socket_file_ops, and the root mount.
func newImage(size int) *image {
	im := &image{k: newFakeKernel(), mem: make([]byte, size), pids: map[int]uint64{}, tasksByPID: map[int]uint64{}}
	im.alloc(256) // nothing at kbase: address 0 of the image stays unused
	im.initTask = im.alloc(taskSize)
	im.listInit(im.initTask + im.o("task_struct", "tasks"))
	copy(im.at(im.initTask+im.o("task_struct", "comm")), "swapper/0")
	im.field(im.initTask, "task_struct", "flags", pfKthread)
	im.lastTask = im.initTask
	im.k.sym["init_task"] = im.initTask
	im.k.sym["modules"] = im.alloc(16)
	im.listInit(im.k.sym["modules"])
	im.kset = im.alloc(64)
	im.listInit(im.kset + im.o("kset", "list"))
	im.k.sym["module_kset"] = im.alloc(8)
	im.put(im.k.sym["module_kset"], im.kset)
	im.k.sym["init_pid_ns"] = im.alloc(64)
	im.k.sym["socket_file_ops"] = im.alloc(64)
	im.rootDentry = im.dentry(0, "")
	mount := im.alloc(0x40)
	im.rootMnt = mount + im.o("mount", "mnt")
	im.field(mount, "mount", "mnt_parent", mount)
	im.field(mount, "mount", "mnt_mountpoint", im.rootDentry)
	im.field(im.rootMnt, "vfsmount", "mnt_root", im.rootDentry)
	return im
}

// dentry makes a hashed dentry named name under parent (0: a root).
func (im *image) dentry(parent uint64, name string) uint64 {
	d := im.alloc(0x40)
	if parent == 0 {
		parent = d
	}
	im.field(d, "dentry", "d_parent", parent)
	im.field(d, "dentry", "d_hash.pprev", d) // any non-nil: hashed
	s := im.alloc(uint64(len(name)) + 1)
	copy(im.at(s), name)
	q := d + im.o("dentry", "d_name")
	im.put32(q+im.o("qstr", "len"), uint32(len(name)))
	im.put(q+im.o("qstr", "name"), s)
	return d
}

// file makes an open file of the path's components under the root
// mount.
func (im *image) file(names ...string) uint64 {
	d := im.rootDentry
	for _, n := range names {
		d = im.dentry(d, n)
	}
	f := im.alloc(0x40)
	p := f + im.o("file", "f_path")
	im.put(p+im.o("path", "mnt"), im.rootMnt)
	im.put(p+im.o("path", "dentry"), d)
	return f
}

// sockSpec is a socket to lay out.
type sockSpec struct {
	family, typ, proto uint16
	state              uint8
	local, remote      netip.AddrPort
}

func (im *image) socketFile(s sockSpec) uint64 {
	sk := im.alloc(0x110)
	im.put16(sk+im.o("sock", "__sk_common.skc_family"), s.family)
	im.at(sk + im.o("sock", "__sk_common.skc_state"))[0] = s.state
	im.put16(sk+im.o("sock", "sk_type"), s.typ)
	im.put16(sk+im.o("sock", "sk_protocol"), s.proto)
	im.put16(sk+im.o("sock", "__sk_common.skc_num"), s.local.Port())
	binary.BigEndian.PutUint16(im.at(sk+im.o("sock", "__sk_common.skc_dport")), s.remote.Port())
	if s.family == afInet {
		copy(im.at(sk+im.o("sock", "__sk_common.skc_rcv_saddr")), s.local.Addr().AsSlice())
		copy(im.at(sk+im.o("sock", "__sk_common.skc_daddr")), s.remote.Addr().AsSlice())
	} else {
		a, b := s.local.Addr().As16(), s.remote.Addr().As16()
		copy(im.at(sk+im.o("sock", "__sk_common.skc_v6_rcv_saddr")), a[:])
		copy(im.at(sk+im.o("sock", "__sk_common.skc_v6_daddr")), b[:])
	}
	so := im.alloc(0x20)
	im.field(so, "socket", "sk", sk)
	f := im.alloc(0x40)
	im.field(f, "file", "f_op", im.k.sym["socket_file_ops"])
	im.field(f, "file", "private_data", so)
	return f
}

// vmaSpec is a mapping to lay out; file mappings get an open file.
type vmaSpec struct {
	start, end, flags uint64
	file              bool
}

// mapleTree lays out a maple tree of vmas (sorted, disjoint) for mm and
// returns its root entry: leaves of up to 7 VMAs with gaps between, under
// one allocation-range root when there is more than one leaf.
func (im *image) mapleTree(mm uint64, vmas []vmaSpec) uint64 {
	sort.Slice(vmas, func(i, j int) bool { return vmas[i].start < vmas[j].start })
	type leaf struct{ entry, max uint64 }
	var leaves []leaf
	for i := 0; i < len(vmas); i += 7 {
		chunk := vmas[i:min(i+7, len(vmas))]
		node := im.alloc(256)
		slot := uint64(0)
		set := func(entry, pivot uint64) {
			if slot < 15 {
				im.put(node+im.o("maple_range_64", "pivot")+8*slot, pivot)
			}
			im.put(node+im.o("maple_range_64", "slot")+8*slot, entry)
			slot++
		}
		prevEnd := uint64(0)
		if i > 0 {
			prevEnd = vmas[i-1].end
		}
		for _, v := range chunk {
			if v.start > prevEnd {
				set(0, v.start-1)
			}
			set(im.vma(mm, v), v.end-1)
			prevEnd = v.end
		}
		max := prevEnd - 1
		if i+7 >= len(vmas) {
			max = ^uint64(0)
			set(0, max)
		}
		leaves = append(leaves, leaf{node | mapleLeaf64<<3 | 4, max})
	}
	if len(leaves) == 1 {
		return leaves[0].entry | 2 // the root
	}
	if len(leaves) > 10 {
		panic("synthetic maple tree: too many leaves")
	}
	root := im.alloc(256)
	for i, lf := range leaves {
		if i < 9 {
			im.put(root+im.o("maple_arange_64", "pivot")+8*uint64(i), lf.max)
		}
		im.put(root+im.o("maple_arange_64", "slot")+8*uint64(i), lf.entry)
	}
	return root | mapleArange64<<3 | 4 | 2
}

func (im *image) vma(mm uint64, v vmaSpec) uint64 {
	a := im.alloc(0x40)
	im.field(a, "vm_area_struct", "vm_start", v.start)
	im.field(a, "vm_area_struct", "vm_end", v.end)
	im.field(a, "vm_area_struct", "vm_mm", mm)
	im.field(a, "vm_area_struct", "vm_flags", v.flags)
	if v.file {
		im.field(a, "vm_area_struct", "vm_file", im.file("lib", "libc.so.6"))
	}
	return a
}
