package fingerprint

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestRuleOnDebianPackages measures DefaultRule's false positives on real,
// unrelated content: the installed Debian packages of this machine, each
// fingerprinted as FromContent fingerprints a tar of its files. Each
// package in turn is the protected image, and one owner is taken to have
// uploaded every other package: the worst case for weighing an owner's
// uploads together, whole or each cut in two byte halves (issue 11 §3:
// halves are smaller, so more of them pass the rule's Own share). A
// package counts as flagged when a single other package holds more than
// half of it (as before the rule) or when the other packages, or their
// halves, that are parts of it hold more than half of it together.
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
		name   string
		fp     *Fingerprint
		halves []*Fingerprint // of the package's tar cut in two through a file
	}
	var pkgs []pkg
	var read int64
	for _, l := range lists {
		if read > budget {
			break
		}
		fp, halves, n := packageFingerprint(t, l)
		read += n
		if fp.Bytes() >= 64<<10 { // a package of a few small files says nothing either way
			pkgs = append(pkgs, pkg{strings.TrimSuffix(filepath.Base(l), ".list"), fp, halves})
		}
	}
	var single, weighed, parts, cutWeighed, cutParts int
	for _, p := range pkgs {
		var union, cutUnion []*Fingerprint
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
			for _, h := range u.halves {
				if DefaultRule.IsPart(p.fp, h) {
					cutParts++
					cutUnion = append(cutUnion, Intersect(h, p.fp))
				}
			}
		}
		together := Similarity(p.fp, Union(union...))
		cut := Similarity(p.fp, Union(cutUnion...))
		switch {
		case alone:
			single++
			t.Logf("%s: held by one other package", p.name)
		case together > 0.5:
			weighed++
			t.Logf("%s: %.0f%% held by %d other packages together", p.name, 100*together, len(union))
		case cut > 0.5:
			cutWeighed++
			t.Logf("%s: %.0f%% held by %d byte halves of other packages together", p.name, 100*cut, len(cutUnion))
		}
	}
	t.Logf("%d packages (%d MB read): %d flagged by one other package, %d more by weighing parts together "+
		"(%d part relations); uploaded as byte halves, %d more (%d part relations)",
		len(pkgs), read>>20, single, weighed, parts, cutWeighed, cutParts)
	if len(pkgs) > 0 && float64(weighed+cutWeighed) > 0.05*float64(len(pkgs)) {
		t.Errorf("weighing parts together flags %d+%d of %d unrelated packages, over 5%%", weighed, cutWeighed, len(pkgs))
	}
}

// packageFingerprint packs the regular files a dpkg list names into a tar,
// as an image of them would be, and fingerprints it whole and cut in two
// halves at an odd offset (through a file), each with FromContent. It
// returns the bytes of the files read.
func packageFingerprint(t *testing.T, list string) (*Fingerprint, []*Fingerprint, int64) {
	f, err := os.Open(list)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var archive bytes.Buffer
	tw := tar.NewWriter(&archive)
	var n int64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name := sc.Text()
		st, err := os.Lstat(name)
		if err != nil || !st.Mode().IsRegular() || st.Size() > 64<<20 {
			continue
		}
		data, err := os.ReadFile(name)
		if err != nil {
			continue // unreadable to this user: not part of the measure
		}
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data))})
		tw.Write(data)
		n += int64(len(data))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	a := archive.Bytes()
	cut := min(len(a), len(a)/2+101)
	fps := make([]*Fingerprint, 3)
	for i, b := range [][]byte{a, a[:cut], a[cut:]} {
		if fps[i], err = FromContent(context.Background(), bytes.NewReader(b), Default); err != nil {
			t.Fatal(err)
		}
	}
	return fps[0], fps[1:], n
}
