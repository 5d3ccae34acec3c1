// Command gitleaks compares imgward's sensitive-file scanner with gitleaks
// v8's default rule set on the same rootfs tar: the corpus of package
// sensitivetest (one file of each kind of secret, and ordinary files that
// look like secrets). It prints, per file, what each finds, and the true
// and false positives of each, as docs/PROTECTION.md reports them.
//
// Given tar files as arguments, it scans those instead and lists every
// file that either flags, to measure false positives on real trees.
//
// It is a module of its own, so that gitleaks and its dependencies stay
// out of imgward's go.mod (docs/PROTECTION.md says how it was run):
//
//	cd seal/sensitive/testdata/gitleaks && go run . [TAR...]
package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/zricethezav/gitleaks/v8/detect"
	"github.com/zricethezav/gitleaks/v8/logging"
	"github.com/zricethezav/gitleaks/v8/sources"

	"imgward/seal/sensitive"
	"imgward/seal/sensitive/sensitivetest"
)

func main() {
	// gitleaks warns of every archive nested in the tar that it skips.
	logging.Logger = logging.Logger.Level(zerolog.ErrorLevel)
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run() error {
	if len(os.Args) > 1 {
		for _, name := range os.Args[1:] {
			if err := compareTar(name); err != nil {
				return err
			}
		}
		return nil
	}
	secrets, ordinary := sensitivetest.Secrets(), sensitivetest.Ordinary()
	files := append(secrets, ordinary...)
	archive, err := sensitivetest.Tar(files, time.Unix(1700000000, 0))
	if err != nil {
		return err
	}
	ours, err := (&sensitive.Scanner{}).Scan(bytes.NewReader(archive))
	if err != nil {
		return err
	}
	imgward := map[string]string{}
	for _, f := range ours {
		imgward[f.Path] = f.Kind
	}
	theirs, err := gitleaks(archive)
	if err != nil {
		return err
	}
	fmt.Println("| file | category | imgward | gitleaks v8 |")
	fmt.Println("| ---- | -------- | ------- | ----------- |")
	var tp, fp, gtp, gfp int
	for _, f := range files {
		cat := f.Category
		if cat == "" {
			cat = "(ordinary)"
		}
		fmt.Printf("| %s | %s | %s | %s |\n", f.Name, cat, orDash(imgward[f.Name]), orDash(strings.Join(theirs[f.Name], ", ")))
		secret := f.Category != ""
		count(secret, imgward[f.Name] != "", &tp, &fp)
		count(secret, len(theirs[f.Name]) > 0, &gtp, &gfp)
	}
	fmt.Printf("\nimgward: %d of %d secrets found, %d false positives in %d ordinary files\n", tp, len(secrets), fp, len(ordinary))
	fmt.Printf("gitleaks: %d of %d secrets found, %d false positives in %d ordinary files\n", gtp, len(secrets), gfp, len(ordinary))
	return nil
}

// compareTar lists what each finds in the tar file name, and counts.
func compareTar(name string) error {
	archive, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	ours, err := (&sensitive.Scanner{}).Scan(bytes.NewReader(archive))
	if err != nil {
		return err
	}
	theirs, err := gitleaks(archive)
	if err != nil {
		return err
	}
	byKind, byRule := map[string]int{}, map[string]int{}
	for _, f := range ours {
		fmt.Printf("imgward\t%s\t%s\t%s\n", f.Path, f.Kind, f.Reason)
		byKind[f.Kind]++
	}
	paths := make([]string, 0, len(theirs))
	for p := range theirs {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		fmt.Printf("gitleaks\t%s\t%s\n", p, strings.Join(theirs[p], ", "))
		for _, r := range theirs[p] {
			byRule[r]++
		}
	}
	fmt.Printf("%s: imgward flags %d files %v; gitleaks flags %d files %v\n", name, len(ours), byKind, len(theirs), byRule)
	return nil
}

func count(secret, found bool, tp, fp *int) {
	switch {
	case secret && found:
		*tp++
	case !secret && found:
		*fp++
	}
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// gitleaks scans the tar as gitleaks scans an archive among its files
// (gitleaks dir --max-archive-depth 1), with its default rules, and
// returns the rules that fire per entry.
func gitleaks(archive []byte) (map[string][]string, error) {
	d, err := detect.NewDetectorDefaultConfig()
	if err != nil {
		return nil, err
	}
	src := &sources.File{Content: bytes.NewReader(archive), Path: "rootfs.tar", Config: &d.Config, MaxArchiveDepth: 1}
	found, err := d.DetectSource(context.Background(), src)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, f := range found {
		_, name, _ := strings.Cut(f.File, "!")
		if !contains(out[name], f.RuleID) {
			out[name] = append(out[name], f.RuleID)
		}
	}
	for _, rules := range out {
		sort.Strings(rules)
	}
	return out, nil
}

func contains(s []string, x string) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}
