package fingerprint

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestRuleOnDebianPackages measures DefaultRule's false positives on real,
// unrelated content: the installed Debian packages of this machine, each
// fingerprinted as FromTar would fingerprint a tar of its files. Each
// package in turn is the protected image, and one owner is taken to have
// uploaded every other package: the worst case for weighing an owner's
// uploads together. A package counts as flagged when a single other
// package holds more than half of it (as before the rule) or when the
// other packages that are parts of it hold more than half of it together.
// Packages of one source share files (a library and its -dev package, a
// binary and its -common data), so the test counts the pairs that explain
// each flag; docs/FORMATS.md reports the numbers of a full run
// (IMGWARD_FP_ALL=1: every package; by default a bounded sample).
func TestRuleOnDebianPackages(t *testing.T) {
	lists, _ := filepath.Glob("/var/lib/dpkg/info/*.list")
	if len(lists) < 50 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%d dpkg file lists; CI needs a Debian system", len(lists))
		}
		t.Skip("not a Debian system")
	}
	slices.Sort(lists)
	budget := int64(300 << 20) // bytes read in a default run
	if os.Getenv("IMGWARD_FP_ALL") == "1" {
		budget = 1 << 62
	}
	type pkg struct {
		name string
		fp   *Fingerprint
	}
	var pkgs []pkg
	var read int64
	for _, l := range lists {
		if read > budget {
			break
		}
		fp, n := packageFingerprint(t, l)
		read += n
		if fp.Bytes() >= 64<<10 { // a package of a few small files says nothing either way
			pkgs = append(pkgs, pkg{strings.TrimSuffix(filepath.Base(l), ".list"), fp})
		}
	}
	var single, weighed, parts int
	for _, p := range pkgs {
		var union []*Fingerprint
		alone := false
		for _, u := range pkgs {
			if u.name == p.name {
				continue
			}
			if Similarity(p.fp, u.fp) > 0.5 {
				alone = true
			}
			if DefaultRule.IsPart(p.fp, u.fp) {
				parts++
				union = append(union, Intersect(u.fp, p.fp))
			}
		}
		together := Similarity(p.fp, Union(union...))
		switch {
		case alone:
			single++
			t.Logf("%s: held by one other package", p.name)
		case together > 0.5:
			weighed++
			t.Logf("%s: %.0f%% held by %d other packages together", p.name, 100*together, len(union))
		}
	}
	t.Logf("%d packages (%d MB read): %d flagged by one other package, %d more by weighing parts together; %d part relations",
		len(pkgs), read>>20, single, weighed, parts)
	if len(pkgs) > 0 && float64(weighed) > 0.05*float64(len(pkgs)) {
		t.Errorf("weighing parts together flags %d of %d unrelated packages, over 5%%", weighed, len(pkgs))
	}
}

// packageFingerprint fingerprints the regular files a dpkg list names,
// each chunked on its own as FromTar does, and returns the bytes read.
func packageFingerprint(t *testing.T, list string) (*Fingerprint, int64) {
	f, err := os.Open(list)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name := sc.Text()
		st, err := os.Lstat(name)
		if err != nil || !st.Mode().IsRegular() || st.Size() > 64<<20 {
			continue
		}
		r, err := os.Open(name)
		if err != nil {
			continue // unreadable to this user: not part of the measure
		}
		err = b.addAll(context.Background(), r, Default)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	return b.fingerprint(), b.content
}
