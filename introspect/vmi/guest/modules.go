package guest

import "strings"

// moduleNameLen is MODULE_NAME_LEN on 64-bit: 64 - sizeof(unsigned long).
const moduleNameLen = 56

var moduleStates = [...]string{"live", "coming", "going", "unformed"}

func (l *layout) moduleSpan() span {
	// The name is wider than spanOf's 16 bytes: its start and its last 16.
	offs := []uint64{l.modList, l.modName, l.modName + moduleNameLen - 16, l.modState}
	if l.modSize != noOffset {
		offs = append(offs, l.modSize)
	}
	return spanOf(offs...)
}

// walkModules reads the module list, then the module kset's kobjects
// (/sys/module): a module in the kset but not in the list was unlinked
// from the list to hide it from lsmod and /proc/modules.
func (s *scan) walkModules() error {
	l := s.l
	sp := l.moduleSpan()
	listed := map[uint64]bool{}
	err := s.walkList(l.modules, "module list", func(node uint64) {
		mod := node - l.modList
		if m, ok := s.readModule(mod, sp); ok {
			listed[mod] = true
			s.st.Modules = append(s.st.Modules, m)
		}
	})
	if err != nil {
		return err
	}
	kset, ok := s.r.ptr(l.moduleKset)
	if !ok || kset == 0 {
		s.skip("module kset")
		return nil
	}
	return s.walkList(kset+l.ksetList, "module kset", func(node uint64) {
		mk := node - l.kobjEntry - l.mkobjKobj
		mod, ok := s.r.ptr(mk + l.mkobjMod)
		switch {
		case !ok:
			s.skip("module kobject")
		case mod == 0 || listed[mod]:
			// A built-in module with parameters has a kobject and no module.
		case mod+l.modMkobj != mk:
			s.skip("module kobject") // not the module's own kobject: garbage
		default:
			if m, ok := s.readModule(mod, sp); ok {
				m.Hidden = true
				listed[mod] = true
				s.st.Modules = append(s.st.Modules, m)
			}
		}
	})
}

func (s *scan) readModule(mod uint64, sp span) (Module, bool) {
	l := s.l
	v, ok := s.r.obj(&s.modBuf, mod, sp)
	if !ok {
		s.skip("module")
		return Module{}, false
	}
	m := Module{Name: strings.ToValidUTF8(v.str(l.modName, moduleNameLen), "\uFFFD"), State: "unknown"}
	if st := v.u32(l.modState); int(st) < len(moduleStates) {
		m.State = moduleStates[st]
	}
	if l.modSize != noOffset {
		m.Size = uint64(v.u32(l.modSize))
	}
	return m, m.Name != ""
}

// walkList calls fn with each node of the circular list at head (not
// the head itself), up to Limits.Modules nodes, stopping at a loop, an
// unreadable link. A link whose back pointer
// disagrees counts as torn.
func (s *scan) walkList(head uint64, what string, fn func(node uint64)) error {
	prev := head
	next, ok := s.r.ptr(head)
	seen := map[uint64]bool{head: true}
	for n := 0; next != head; n++ {
		if err := s.alive(); err != nil {
			return err
		}
		switch {
		case !ok || next == 0:
			s.skip("module list")
			s.truncated(what + ": unreadable link")
			return nil
		case seen[next]:
			s.truncated(what + ": loop")
			return nil
		case n == s.lim.Modules:
			s.truncated(what + ": limit")
			return nil
		}
		seen[next] = true
		if back, ok := s.r.u64(next + 8); ok && back != prev {
			s.st.Torn++
		}
		fn(next)
		prev = next
		next, ok = s.r.ptr(next)
	}
	return nil
}
