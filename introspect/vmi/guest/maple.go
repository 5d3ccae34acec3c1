package guest

import "encoding/binary"

// Since Linux 6.1 a process's memory mappings (VMAs) are kept in a maple
// tree (lib/maple_tree.c), mm->mm_mt, and no longer in a list. A node
// pointer in the tree is encoded (mt_mk_node): the node's 256-byte
// aligned address, its type in bits 3-6 and MAPLE_ENODE_NULL (0x4); the
// root's also has MAPLE_ROOT_NODE (0x2), which makes it an xarray
// "internal" entry (a root without it is a lone entry, not a node; an mm
// has none such). Range nodes (maple_range_64, and maple_leaf_64 at the bottom)
// and allocation-range nodes (maple_arange_64, which also keep the gaps)
// hold pivots: slot i covers (pivot[i-1], pivot[i]], the last slot up to
// the node's own maximum. A leaf's slots are struct vm_area_struct
// pointers.
const (
	mapleLeaf64   = 1
	mapleRange64  = 2
	mapleArange64 = 3
	mapleMaxDepth = 32 // MAPLE_HEIGHT_MAX is 31
	vmWrite       = 0x2
	vmExec        = 0x4
)

// mapleNode decodes an encoded node pointer, the root's or a child's.
func mapleNode(entry uint64, root bool) (addr uint64, typ int, ok bool) {
	if root && (entry&3 != 2 || entry <= 4096) {
		return 0, 0, false
	}
	addr, typ = entry&^0xff, int(entry>>3)&0xf
	return addr, typ, isKernelPtr(addr) && typ >= mapleLeaf64 && typ <= mapleArange64
}

// mapleFrame is a node still to read, with the range it covers.
type mapleFrame struct {
	entry, min, max uint64
	depth           int
}

// mappings counts the mappings of mm (at its maple tree's root entry),
// and those that are anonymous, writable and executable: code that a
// process wrote itself, the mark of injected or unpacked code.
func (s *scan) mappings(mm, root uint64) (n, rwx int) {
	if root == 0 {
		return 0, 0
	}
	// The stack, the node's bytes and the nodes seen are the scan's,
	// reused from one process to the next.
	stack := append(s.maple.stack[:0], mapleFrame{entry: root, max: ^uint64(0)})
	defer func() { s.maple.stack = stack }()
	if s.maple.node == nil {
		s.maple.node, s.maple.seen = make([]byte, s.l.mapleNodeBytes()), map[uint64]bool{}
	}
	node, seen := s.maple.node, s.maple.seen
	clear(seen)
	for len(stack) > 0 {
		f := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		addr, typ, ok := mapleNode(f.entry, f.depth == 0)
		if !ok || seen[addr] || f.depth > mapleMaxDepth || s.r.mem.ReadKernel(addr, node) != nil {
			s.skip("maple node")
			continue
		}
		seen[addr] = true
		if binary.LittleEndian.Uint64(node) == addr {
			s.st.Torn++ // a dead node: freed while the tree was read
			continue
		}
		s.maple.slots = s.mapleSlots(s.maple.slots[:0], node, typ, f)
		for _, c := range s.maple.slots {
			if s.vmas >= s.lim.VMAs {
				s.truncated("mappings: limit")
				return n, rwx
			}
			s.vmas++
			if typ == mapleLeaf64 {
				ok, isRWX := s.readVMA(mm, c.entry)
				if ok {
					n++
				}
				if isRWX {
					rwx++
				}
				continue
			}
			stack = append(stack, c)
		}
	}
	return n, rwx
}

// mapleNodeBytes is how much of a node a scan reads: up to the end of
// the slots of either kind.
func (l *layout) mapleNodeBytes() uint64 {
	return max(l.rangeSlot+8*l.rangeSlots, l.arangeSlot+8*l.arangeSlots)
}

// mapleSlots appends to out the non-empty slots of a node with their
// ranges, up to the end of its data: a zero pivot after the first, or the
// node's max.
func (s *scan) mapleSlots(out []mapleFrame, node []byte, typ int, f mapleFrame) []mapleFrame {
	l := s.l
	pivots, slots, n := l.rangePivot, l.rangeSlot, l.rangeSlots
	if typ == mapleArange64 {
		pivots, slots, n = l.arangePivot, l.arangeSlot, l.arangeSlots
	}
	lo := f.min
	for i := uint64(0); i < n; i++ {
		hi := f.max
		if i < n-1 {
			hi = binary.LittleEndian.Uint64(node[pivots+8*i:])
			if (hi == 0 && i > 0) || hi < lo || hi > f.max {
				break
			}
		}
		if e := binary.LittleEndian.Uint64(node[slots+8*i:]); e != 0 {
			out = append(out, mapleFrame{entry: e, min: lo, max: hi, depth: f.depth + 1})
		}
		if hi == f.max {
			break
		}
		lo = hi + 1
	}
	return out
}

// readVMA reads one VMA and reports whether it is one of mm's, and
// whether it is anonymous, writable and executable. A VMA of another mm,
// or with an empty range, is skipped.
func (s *scan) readVMA(mm, vma uint64) (ok, rwx bool) {
	l := s.l
	if !isKernelPtr(vma) {
		s.skip("mapping")
		return false, false
	}
	v, ok := s.r.obj(&s.vmaBuf, vma, l.vmaSpan)
	if !ok || v.u64(l.vmaMM) != mm || v.u64(l.vmaStart) >= v.u64(l.vmaEnd) {
		s.skip("mapping")
		return false, false
	}
	return true, v.u64(l.vmaFile) == 0 && v.u64(l.vmaFlags)&(vmWrite|vmExec) == vmWrite|vmExec
}
