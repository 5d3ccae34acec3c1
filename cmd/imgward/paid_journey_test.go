package main

import (
	"bytes"
	"crypto/rand"
	"encoding/csv"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// paidMarker precedes the paid-image walk-through of the README and of
// docs/API.md, whose commands TestPaidJourney runs.
const paidMarker = "<!-- paid images: TestPaidJourney runs these commands -->"

// TestPaidJourney drives the paid-image flow through the CLI as the README
// tells it, against a real server: offer, list, a launch refused, a
// subscription, a metered launch, a price change, the seller's buyers, a
// CSV usage report, a cancellation and a withdrawal.
func TestPaidJourney(t *testing.T) {
	has := func(t *testing.T, out string, want ...string) {
		t.Helper()
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("output lacks %q:\n%s", w, out)
			}
		}
	}
	field := func(out, name string) string {
		m := regexp.MustCompile(`(?m)^` + name + ` +(\S+)$`).FindStringSubmatch(out)
		if m == nil {
			return ""
		}
		return m[1]
	}
	steps := []struct {
		cmd   string
		code  int
		check func(t *testing.T, v map[string]string, out, errs string)
	}{
		{`IMGWARD_TOKEN=$SELLER imgward offer create $IMG --title "Hardened LAMP" --description "CIS level 2" --price 0.12 --per hour`, exitOK,
			func(t *testing.T, v map[string]string, out, _ string) {
				v["OFFER"] = field(out, "id")
				has(t, out, "0.120000 USD per hour", "active", "imgward sealed it")
				if !regexp.MustCompile(`(?m)^product_code +[0-9a-f]{32}$`).MatchString(out) {
					t.Errorf("no product code:\n%s", out)
				}
			}},
		{`IMGWARD_TOKEN=$BUYER imgward offer list --title lamp`, exitOK, func(t *testing.T, v map[string]string, out, _ string) {
			has(t, out, v["OFFER"], "Hardened LAMP", "0.120000 USD/hour", "seller")
		}},
		{`IMGWARD_TOKEN=$BUYER imgward instance launch $IMG --host hv-1`, exitPermission, func(t *testing.T, v map[string]string, _, errs string) {
			has(t, errs, "subscribe to offer "+v["OFFER"]+" first")
		}},
		{`IMGWARD_TOKEN=$BUYER imgward subscription create $OFFER`, exitOK, func(t *testing.T, v map[string]string, out, _ string) {
			v["SUB"] = field(out, "id")
			has(t, out, "active", "0.120000 USD per hour")
		}},
		{`IMGWARD_TOKEN=$BUYER imgward instance launch $IMG --host hv-1`, exitOK, func(t *testing.T, v map[string]string, out, _ string) {
			v["INSTANCE"] = strings.TrimSpace(out)
		}},
		{`IMGWARD_TOKEN=$SELLER imgward offer update $OFFER --price 0.15`, exitOK, func(t *testing.T, _ map[string]string, out, _ string) {
			has(t, out, "0.150000 USD per hour")
		}},
		{`IMGWARD_TOKEN=$SELLER imgward subscription list --as seller`, exitOK, func(t *testing.T, v map[string]string, out, _ string) {
			has(t, out, v["SUB"], v["BUYER_PROJECT"], "0.120000 USD per hour", v["INSTANCE"])
		}},
		{`IMGWARD_TOKEN=$SELLER imgward offer usage $OFFER --from $FROM --to $TO --output csv`, exitOK, func(t *testing.T, v map[string]string, out, _ string) {
			rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
			if err != nil || len(rows) != 2 || rows[0][0] != "subscription" || rows[1][0] != v["SUB"] ||
				rows[1][1] != v["BUYER_PROJECT"] || rows[1][2] != "1" || rows[1][4] != "0.120000" || rows[1][7] != "USD" {
				t.Errorf("usage CSV (%v):\n%s", err, out)
			}
		}},
		{`IMGWARD_TOKEN=$BUYER imgward subscription cancel $SUB`, exitOK, func(t *testing.T, _ map[string]string, out, _ string) {
			has(t, out, "cancelled")
		}},
		{`IMGWARD_TOKEN=$SELLER imgward offer withdraw $OFFER`, exitOK, func(t *testing.T, _ map[string]string, out, _ string) {
			has(t, out, "withdrawn")
		}},
	}
	var want []string
	for _, s := range steps {
		want = append(want, s.cmd)
	}
	for _, doc := range []string{"../../README.md", "../../docs/API.md"} {
		if got := docBlock(t, doc, paidMarker); !slices.Equal(got, want) {
			t.Fatalf("the walk-through of %s runs\n%s\nthe test\n%s", doc, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}

	url, token := startServer(t)
	admin := user{t, url, token}
	var seller, buyer, sp, bp obj
	admin.json(&sp, "project", "create", "seller")
	admin.json(&bp, "project", "create", "buyer")
	admin.json(&seller, "user", "create", "s", "--project", sp["id"].(string))
	admin.json(&buyer, "user", "create", "b", "--project", bp["id"].(string))
	sellerUser := user{t, url, seller["token"].(string)}
	var img obj
	sellerUser.json(&img, "image", "create", "lamp")
	data := make([]byte, 64<<10)
	rand.Read(data)
	file := filepath.Join(t.TempDir(), "lamp.qcow2")
	os.WriteFile(file, data, 0o600)
	sellerUser.ok("image", "upload", img["id"].(string), file)

	vars := map[string]string{"SELLER": seller["token"].(string), "BUYER": buyer["token"].(string),
		"BUYER_PROJECT": bp["id"].(string), "IMG": img["id"].(string),
		"FROM": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), "TO": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}
	for _, s := range steps {
		args := shellWords(os.Expand(s.cmd, func(k string) string { return vars[k] }))
		tok, _ := strings.CutPrefix(args[0], "IMGWARD_TOKEN=")
		stdout, stderr, code := user{t, url, tok}.run(nil, args[2:]...)
		if code != s.code {
			t.Fatalf("%s: exit %d, want %d\n%s%s", s.cmd, code, s.code, stdout, stderr)
		}
		t.Run(strings.Join(args[2:4], " "), func(t *testing.T) { s.check(t, vars, stdout, stderr) })
	}
}

// shellWords splits a command line at spaces outside double quotes.
func shellWords(s string) []string {
	var words []string
	var w bytes.Buffer
	quoted, any := false, false
	for _, r := range s {
		switch {
		case r == '"':
			quoted, any = !quoted, true
		case r == ' ' && !quoted:
			if any {
				words, any = append(words, w.String()), false
				w.Reset()
			}
		default:
			w.WriteRune(r)
			any = true
		}
	}
	if any {
		words = append(words, w.String())
	}
	return words
}

// readmeBlock returns the commands of the README's sh block after marker,
// without their comments.
func readmeBlock(t *testing.T, marker string) []string {
	return docBlock(t, "../../README.md", marker)
}

// docBlock returns the commands of the sh block after marker in the
// Markdown file at path, without their comments.
func docBlock(t *testing.T, path, marker string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(b), marker+"\n```sh\n")
	if !ok {
		t.Fatalf("%s has no %q followed by a sh block", path, marker)
	}
	block, _, _ = strings.Cut(block, "```")
	var cmds []string
	for _, l := range strings.Split(block, "\n") {
		l, _, _ = strings.Cut(l, " #")
		if l = strings.TrimSpace(l); l != "" {
			cmds = append(cmds, l)
		}
	}
	return cmds
}
