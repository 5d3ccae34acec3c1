package sensitive

import (
	"bytes"
	"hash/maphash"
	"path"
	"strings"

	"imgward/errors"
)

// Every name of a file counts. A tar archive gives a file more names by
// hard links (a later entry naming an earlier one, whose content it
// shares) and symbolic links (to a file or a directory, earlier or later).
// The archive is read once, as it streams, so links are followed both
// ways:
//
//   - forward: a symbolic link recorded before its target makes the
//     target's content judged under the link's name too (aliases), and
//     sealed if that name is sensitive;
//   - backward: a link to a file already written in the clear is checked
//     against what that file's content would be under the link's name. A
//     match cannot be sealed any more (its bytes are out), so the archive
//     is refused, with the link and the target named; nothing is stored.
//
// The content rules that hold under any name (byContent) seal a file
// whatever links name it, so the backward refusal is left to the gated
// and path-only rules: an earlier file holding a netrc, say, to which a
// later .netrc links. To know that, links keeps, for each file written in
// the clear, a hash of its name, and, for the few whose content a gated
// rule would take (or whose base name a path-only rule could take under
// another directory), the name and those rules as bits.

// maxLinkState bounds the memory that following links may take: about
// 24 bytes per regular file, and the names of links and suspect files.
const maxLinkState = 256 << 20

// maxAliases bounds the names one file is judged under, which also ends
// chains and loops of links.
const maxAliases = 64

// suspectPathOnly marks a clear file whose base name a path-only rule
// could take under another directory; the other bits are indexes in gated.
const suspectPathOnly = 1 << 31

type links struct {
	scanner *Scanner
	seed    maphash.Seed
	clear   map[uint64]struct{} // hashes of the names of files written in the clear
	suspect map[string]uint32   // clear files that some other name would make sensitive
	under   map[string][]string // directory -> the suspect files below it, at any depth
	pending map[string][]string // symbolic link targets not seen yet -> the links' names
	size    int
}

func newLinks(s *Scanner) *links {
	return &links{scanner: s, seed: maphash.MakeSeed(), clear: map[uint64]struct{}{},
		suspect: map[string]uint32{}, under: map[string][]string{}, pending: map[string][]string{}}
}

func (l *links) grow(n int) error {
	l.size += n
	if l.size > maxLinkState {
		return errors.E(errors.Invalid, errors.Msg("the archive has too many entries or links to follow "+
			"within the scanner's memory limit; split it, or create the image with imgward_protect full"))
	}
	return nil
}

// names returns p and the names that the symbolic links seen so far give
// it: a link to p itself or to one of its directories.
func (l *links) names(p string) []string {
	out := []string{p}
	for i := 0; i < len(out) && len(out) < maxAliases; i++ {
		n := out[i]
		for dir := n; ; dir = path.Dir(dir) {
			for _, link := range l.pending[dir] {
				alias := link + n[len(dir):]
				if !contains(out, alias) && len(out) < maxAliases {
					out = append(out, alias)
				}
			}
			if dir == "." || !strings.Contains(dir, "/") {
				break
			}
		}
	}
	return out
}

func contains(s []string, x string) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}

// judge classifies a regular file's content under each of its names.
func (l *links) judge(p string, content []byte) (kind, reason string, ok bool) {
	kind, reason, n, ok := l.scanner.classify(l.names(p), content)
	if ok && n != p {
		reason += " (as " + n + ", through a symbolic link)"
	}
	return kind, reason, ok
}

// wroteClear records a regular file written in the clear.
func (l *links) wroteClear(p string, content []byte) error {
	l.clear[maphash.String(l.seed, p)] = struct{}{}
	var bits uint32
	if content != nil && !binary(content) {
		for i, r := range gated {
			if _, ok := r.content(content); ok {
				bits |= 1 << i
			}
		}
	}
	if pathOnlySuspect(path.Base(p)) {
		bits |= suspectPathOnly
	}
	if bits != 0 {
		return l.addSuspect(p, bits)
	}
	return l.grow(24)
}

// addSuspect records a suspect file, and it under each of its directories
// for the symbolic links to a directory that come later.
func (l *links) addSuspect(p string, bits uint32) error {
	l.suspect[p] = bits
	n := 0
	for dir := path.Dir(p); dir != "." && dir != "/"; dir = path.Dir(dir) {
		l.under[dir] = append(l.under[dir], p)
		n++
	}
	return l.grow(24 + len(p) + 64 + 16*n)
}

// binary reports content with a zero byte near its start: no gated
// rule's format (INI, JSON, YAML, netrc, pgpass, URLs, .env) has one.
func binary(b []byte) bool { return bytes.IndexByte(b[:min(len(b), 8192)], 0) >= 0 }

// pathOnlySuspect reports a base name that a path-only rule takes in the
// right directory.
func pathOnlySuspect(base string) bool {
	switch base {
	case "credentials.db", "access_tokens.db", "adc.json", ".boto", "secring.gpg":
		return true
	}
	m, _ := path.Match("ssh_host_*_key", base)
	return m || strings.HasSuffix(base, ".key")
}

// leak reports whether the clear file target, named name through a link,
// holds what a rule would seal under that name.
func (l *links) leak(name, target string) bool {
	if _, ok := l.clear[maphash.String(l.seed, target)]; !ok {
		return false // sealed, or not in the archive (yet)
	}
	if _, _, ok := l.scanner.byPath(name); ok {
		return true
	}
	bits := l.suspect[target]
	for i, r := range gated {
		if bits&(1<<i) != 0 && r.name(name) {
			return true
		}
	}
	return false
}

// hardLink checks a hard link p to target, which the archive holds
// earlier: if the target went out in the clear, no name of the link may
// make it sensitive. The link then names clear content too.
func (l *links) hardLink(p, target string) error {
	for _, n := range l.names(p) {
		if l.leak(n, target) {
			return refuseLink("hard link", p, target, n)
		}
	}
	if _, ok := l.clear[maphash.String(l.seed, target)]; ok {
		l.clear[maphash.String(l.seed, p)] = struct{}{}
		if bits, ok := l.suspect[target]; ok {
			return l.addSuspect(p, bits)
		}
	}
	return l.grow(24)
}

// symlink records a symbolic link p to target (as written in the entry)
// for the files that come later, and checks the files written earlier
// in the clear that it names: the target itself or, for a link to a
// directory, the suspect files below it.
func (l *links) symlink(p, target string) error {
	for _, t := range resolve(p, target) {
		if t == "" || t == p || strings.HasPrefix(t, p+"/") {
			continue // a loop; nothing to follow
		}
		for _, n := range l.names(p) {
			if l.leak(n, t) {
				return refuseLink("symbolic link", p, t, n)
			}
			for _, f := range l.under[t] {
				if l.leak(n+f[len(t):], f) {
					return refuseLink("symbolic link", p, f, n+f[len(t):])
				}
			}
		}
		l.pending[t] = append(l.pending[t], p)
		if err := l.grow(len(t) + len(p) + 64); err != nil {
			return err
		}
	}
	return nil
}

// resolve returns the archive names a symbolic link's target may mean. A
// relative target is relative to the link's directory. An absolute one is
// relative to the root of the filesystem, which may be the archive's root
// or any directory above the link (a rootfs under a leading directory).
func resolve(p, target string) []string {
	if target == "" {
		return nil
	}
	if !strings.HasPrefix(target, "/") {
		return []string{clean(path.Join(path.Dir(p), target))}
	}
	var out []string
	for dir := path.Dir(p); ; dir = path.Dir(dir) {
		if dir == "." || dir == "/" {
			return append(out, clean(target))
		}
		out = append(out, clean(dir+target))
	}
}

func refuseLink(what, p, target, name string) error {
	msg := "tar entry " + p + " is a " + what + " to " + target + ", whose content came earlier in the archive " +
		"in the clear but is sensitive as " + name + ": it can no longer be sealed. Pack the archive with the " +
		"content under its sensitive name (for example tar --hard-dereference, or the link's target after it), " +
		"or create the image with imgward_protect full"
	return errors.E(errors.Invalid, errors.Msg(msg))
}
