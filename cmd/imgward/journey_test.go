package main

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"imgward/introspect/sim"
)

// journeyMarker precedes the README's detection walk-through, whose
// commands TestDetectionJourney runs.
const journeyMarker = "<!-- the detection journey: TestDetectionJourney runs these commands -->"

// journeyStep is one command of the walk-through and what its output must
// show; vars are the walk-through's shell variables.
type journeyStep struct {
	cmd   string
	check func(t *testing.T, vars map[string]string, stdout, stderr string)
}

// TestDetectionJourney drives the detection journey through the CLI, as the
// README's walk-through tells it, on a cloud of imgward sim against a real
// server: the cloud with its tenants and snapshots, image roles, a baseline
// build that explains why it skips, trust, a baseline, a detection run that
// flags the malicious publisher, flag list, event list, publisher list
// --risk with numbers, flag clear. The README's commands must be exactly
// these.
func TestDetectionJourney(t *testing.T) {
	has := func(t *testing.T, out string, want ...string) {
		t.Helper()
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("output lacks %q:\n%s", w, out)
			}
		}
	}
	steps := []journeyStep{
		{`imgward sim --url "$IMGWARD_URL" --seed 1 --publishers 3 --malicious 1 --images 1 --instances 12 --roles web > cloud.json`, nil},
		{`imgward detect run`, func(t *testing.T, _ map[string]string, out, errs string) {
			has(t, out, "scored 0 instances", "unscored 36 instances:")
			if !regexp.MustCompile(`(?m)^ +36 +no_role +their image has no role$`).MatchString(out) {
				t.Errorf("no reason given:\n%s", out)
			}
			has(t, errs, "hint: give images a role: imgward image role IMAGE ROLE")
		}},
		{`imgward image role $IMG1 web`, func(t *testing.T, v map[string]string, out, _ string) { has(t, out, v["IMG1"], "web") }},
		{`imgward image role $IMG2 web`, nil},
		{`imgward image role $IMG3 web`, nil},
		{`imgward baseline build`, func(t *testing.T, _ map[string]string, out, errs string) {
			has(t, out, "skipped role web: 0 trusted instances with snapshots, need 10; 36 more of untrusted publishers")
			has(t, errs, "hint: trust the publishers")
		}},
		{`imgward publisher trust $GOOD1`, func(t *testing.T, v map[string]string, out, _ string) { has(t, out, v["GOOD1"], "true") }},
		{`imgward publisher trust $GOOD2`, nil},
		{`imgward baseline build`, func(t *testing.T, _ map[string]string, out, _ string) {
			if !regexp.MustCompile(`(?m)^web +1 +ensemble +24$`).MatchString(out) || strings.Contains(out, "skipped") {
				t.Errorf("build:\n%s", out)
			}
		}},
		{`imgward detect run`, func(t *testing.T, v map[string]string, out, _ string) {
			has(t, out, "scored 36 instances, judged 3 images and 3 publishers, flagged 1 publisher\n", "flagged publisher "+v["BAD"])
			if strings.Contains(out, "unscored") {
				t.Errorf("unscored instances:\n%s", out)
			}
		}},
		{`imgward flag list`, func(t *testing.T, v map[string]string, out, _ string) {
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) != 2 || !strings.HasPrefix(lines[1], "publisher  "+v["BAD"]+"  ") || !strings.Contains(lines[1], "  12  ") {
				t.Errorf("flag list:\n%s", out)
			}
		}},
		{`imgward event list`, func(t *testing.T, v map[string]string, out, _ string) {
			if n := strings.Count(out, "publisher.flagged  "+v["BAD"]); n == 0 || n != strings.Count(out, "\n")-1 {
				t.Errorf("events:\n%s", out)
			}
		}},
		{`imgward publisher list --risk`, func(t *testing.T, v map[string]string, out, _ string) {
			row := regexp.MustCompile(`(?m)^([0-9a-f]+) +(\d+\.\d{3}) +(\d+\.\d{3}) +12 +(ok|flagged)$`)
			rows := row.FindAllStringSubmatch(out, -1)
			if strings.Contains(out, "%!") || len(rows) != 3 || rows[0][1] != v["BAD"] || rows[0][4] != "flagged" || rows[1][4] != "ok" || rows[2][4] != "ok" {
				t.Errorf("risk:\n%s", out)
			}
		}},
		{`imgward flag clear $BAD`, func(t *testing.T, v map[string]string, out, _ string) { has(t, out, v["BAD"], "cleared") }},
		{`imgward flag list`, func(t *testing.T, _ map[string]string, out, _ string) {
			if strings.TrimSpace(out) != "KIND  SUBJECT  SCORE  THRESHOLD  INSTANCES  UPDATED" {
				t.Errorf("flag list after clear:\n%s", out)
			}
		}},
	}
	var want []string
	for _, s := range steps {
		want = append(want, s.cmd)
	}
	if got := readmeJourney(t); !slices.Equal(got, want) {
		t.Fatalf("the README's walk-through runs\n%s\nthe test\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	url, token := startServer(t)
	admin := user{t, url, token}
	vars := map[string]string{"IMGWARD_URL": url}
	for _, s := range steps {
		line, capture := strings.CutSuffix(s.cmd, " > cloud.json")
		args := strings.Fields(os.Expand(strings.ReplaceAll(line, `"`, ""), func(k string) string { return vars[k] }))
		stdout, stderr, code := admin.run(nil, args[1:]...)
		if code != exitOK {
			t.Fatalf("%s: exit %d\n%s", s.cmd, code, stderr)
		}
		if capture {
			journeyVars(t, stdout, vars)
		}
		if s.check != nil {
			t.Run(strings.Join(args[1:3], " "), func(t *testing.T) { s.check(t, vars, stdout, stderr) })
		}
	}
}

// journeyVars sets the variables that the walk-through's jq lines set from
// the simulator's manifest: IMG1..., the malicious publisher BAD, and the
// others GOOD1....
func journeyVars(t *testing.T, manifest string, vars map[string]string) {
	var m sim.Manifest
	if err := json.Unmarshal([]byte(manifest), &m); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	for i, img := range m.Images {
		vars["IMG"+string(rune('1'+i))] = img.ID
	}
	good := 0
	for _, p := range m.Publishers {
		if p.Malicious {
			vars["BAD"] = p.ProjectID
			continue
		}
		good++
		vars["GOOD"+string(rune('0'+good))] = p.ProjectID
	}
}

// readmeJourney returns the imgward commands of the README's walk-through,
// without their comments.
func readmeJourney(t *testing.T) []string {
	var cmds []string
	for _, l := range readmeBlock(t, journeyMarker) {
		if strings.HasPrefix(l, "imgward ") {
			cmds = append(cmds, l)
		}
	}
	return cmds
}
