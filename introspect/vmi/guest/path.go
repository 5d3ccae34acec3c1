package guest

import (
	"slices"
	"strings"
)

// filePath is the path of an open file, as d_path writes it: the dentry
// names up to the root of each mount, then on through the mount points up
// to the root mount. An unlinked file gets " (deleted)", as in
// /proc/PID/exe; a path that cannot be read whole is "" and counted.
// Paths are kept for the scan by file and by mount and dentry: most
// processes run one of a few executables, and forked ones share the file.
func (s *scan) filePath(file uint64) string {
	if p, ok := s.paths[file]; ok {
		return p
	}
	l := s.l
	vfsmnt, ok1 := s.r.ptr(file + l.filePath + l.pathMnt)
	dentry, ok2 := s.r.ptr(file + l.filePath + l.pathDentry)
	if !ok1 || !ok2 || vfsmnt == 0 || dentry == 0 {
		s.skip("file path")
		return ""
	}
	key := [2]uint64{vfsmnt, dentry}
	p, ok := s.dpaths[key]
	if !ok {
		p = s.dentryPath(vfsmnt, dentry)
		s.dpaths[key] = p
	}
	s.paths[file] = p
	return p
}

// dentryPath is the path of dentry under the mount vfsmnt.
func (s *scan) dentryPath(vfsmnt, dentry uint64) string {
	l := s.l
	deleted := s.unhashed(dentry)
	mount := vfsmnt - l.mountMnt
	var names []string
	for range s.lim.PathLen {
		root, ok := s.r.ptr(vfsmnt + l.mntRoot)
		if !ok {
			break
		}
		if dentry == root {
			// At the root of this mount: go on from where it is mounted,
			// unless it is the root mount, its own parent.
			parent, ok1 := s.r.ptr(mount + l.mountParent)
			point, ok2 := s.r.ptr(mount + l.mountPoint)
			if !ok1 || !ok2 || parent == 0 || point == 0 {
				break
			}
			if parent == mount {
				return joinPath(names, deleted)
			}
			mount, vfsmnt, dentry = parent, parent+l.mountMnt, point
			continue
		}
		parent, ok := s.r.ptr(dentry + l.dentryParent)
		if !ok || parent == 0 {
			break
		}
		if parent == dentry {
			// A dentry that is its own parent but not its mount's root: a
			// detached tree (a lazily unmounted one, a pipe's); d_path
			// shows what it can.
			return joinPath(names, deleted)
		}
		name, ok := s.dentryName(dentry)
		if !ok {
			break
		}
		names = append(names, name)
		dentry = parent
	}
	s.skip("file path")
	return ""
}

func joinPath(rev []string, deleted bool) string {
	slices.Reverse(rev)
	p := "/" + strings.Join(rev, "/")
	if deleted {
		p += " (deleted)"
	}
	return p
}

// maxName is NAME_MAX, the longest name a path component may have.
const maxName = 255

func (s *scan) dentryName(dentry uint64) (string, bool) {
	l := s.l
	n, ok1 := s.r.u64(dentry + l.dentryName + l.qstrLen)
	name, ok2 := s.r.ptr(dentry + l.dentryName + l.qstrName)
	n &= 0xffffffff
	if !ok1 || !ok2 || name == 0 || n == 0 || n > maxName {
		return "", false
	}
	b := make([]byte, n)
	if s.r.mem.ReadKernel(name, b) != nil {
		return "", false
	}
	return strings.ToValidUTF8(string(b), "\uFFFD"), true
}

// unhashed reports whether a dentry was unlinked (d_unhashed: its hash
// list link has no pprev) and is not a root.
func (s *scan) unhashed(dentry uint64) bool {
	pprev, ok1 := s.r.u64(dentry + s.l.dentryHashPprev)
	parent, ok2 := s.r.u64(dentry + s.l.dentryParent)
	return ok1 && ok2 && pprev == 0 && parent != dentry
}
