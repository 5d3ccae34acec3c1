package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"imgward/detect/pipeline"
	"imgward/evaluate"
)

// evalRun runs imgward eval and returns its exit code, stdout and stderr.
func evalRun(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := cmdEval(args, &out, &errb)
	return code, out.String(), errb.String()
}

// synthetic writes a CSV of normal rows around 0 and anomalies around 4,
// with a trace column, and returns its name.
func synthetic(t *testing.T) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	b.WriteString("id,x,y,kind,fam,set,trace\n")
	for i := range 400 {
		label, fam, shift, trace := "ok", "", 0.0, "1 2 3 1 2 3 1 2 3"
		switch {
		case i%20 == 0:
			label, fam, shift, trace = "bad", "a", 4, "3 2 1 9 9 3 2 1 9"
		case i%10 == 0:
			label, fam, shift, trace = "bad", "b", 3, "1 2 3 7 7 7 1 2 3"
		}
		set := "train"
		if i%2 == 1 {
			set = "test"
		}
		fmt.Fprintf(&b, "r%d,%.3f,%.3f,%s,%s,%s,%s\n", i, shift+rng.NormFloat64(), shift+rng.NormFloat64(), label, fam, set, trace)
	}
	name := filepath.Join(t.TempDir(), "synthetic.csv")
	if err := os.WriteFile(name, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

func TestEvalJSONOutput(t *testing.T) {
	f := synthetic(t)
	code, out, errs := evalRun("--train", f, "--test", f, "--label-col", "kind", "--normal", "ok",
		"--train-where", "set=train", "--sequence-col", "trace",
		"--fleet", "publishers=10,malicious=2,images=2,instances=5,infected=0.5,repeat=3,seed=7", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil || strings.Count(out, "\n") != 1 {
		t.Fatalf("not one JSON object: %q", out)
	}
	for _, k := range []string{"n_train", "n_test", "rows_per_second", "instance", "publisher"} {
		if _, ok := res[k]; !ok {
			t.Errorf("no %q in %s", k, out)
		}
	}
	var r evaluate.Result
	json.Unmarshal([]byte(out), &r)
	if r.NTrain != 160 || r.NTest != 240 || r.RowsPerSecond <= 0 || r.Instance.AUC < 0.95 || r.Publisher == nil || r.Publisher.AUC < 0.95 {
		t.Errorf("result %+v %+v", r, r.Publisher)
	}
	// Without --fleet there is no publisher part.
	_, out, _ = evalRun("--train", f, "--test", f, "--label-col", "kind", "--normal", "ok", "--json")
	if strings.Contains(out, "publisher") {
		t.Errorf("publisher without --fleet: %s", out)
	}
}

// TestLanguageModelFlags checks that --neural and --recurrent turn on
// their language model's feature and still separate the synthetic
// anomalies.
func TestEvalLanguageModelFlags(t *testing.T) {
	f := synthetic(t)
	for _, flag := range []string{"--neural", "--recurrent"} {
		code, out, errs := evalRun("--train", f, "--test", f, "--label-col", "kind", "--normal", "ok",
			"--train-where", "set=train", "--sequence-col", "trace", flag, "--json")
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", flag, code, errs)
		}
		var r evaluate.Result
		if err := json.Unmarshal([]byte(out), &r); err != nil || r.Instance.AUC < 0.95 {
			t.Errorf("%s: result %s (%v)", flag, out, err)
		}
	}
}

func TestEvalTableOutput(t *testing.T) {
	f := synthetic(t)
	code, out, errs := evalRun("--train", f, "--test", f, "--label-col", "kind", "--normal", "ok", "--detector", "zscore",
		"--holdout", "0.5", "--family-col", "fam")
	if code != 0 || !strings.Contains(out, "instance") || !strings.Contains(out, "zscore") || !strings.Contains(out, "  b ") {
		t.Errorf("exit %d, out %q, err %q", code, out, errs)
	}
}

func TestEvalHelp(t *testing.T) {
	code, out, _ := evalRun("--help")
	if code != 0 || !strings.Contains(out, "usage: imgward eval") || !strings.Contains(out, "iforest") {
		t.Errorf("exit %d, help %q", code, out)
	}
}

// TestEvalCandidates checks that --candidates limits the selection to the
// candidates it matches.
func TestEvalCandidates(t *testing.T) {
	f := synthetic(t)
	code, out, errs := evalRun("--train", f, "--test", f, "--label-col", "kind", "--normal", "ok", "--holdout", "0.5",
		"--family-col", "fam", "--protocol", "loafo", "--folds", "2", "--candidates", "^(zscore|hbos)$", "--json")
	var sel evaluate.Selection
	if code != 0 || json.Unmarshal([]byte(out), &sel) != nil {
		t.Fatalf("exit %d, out %q, err %q", code, out, errs)
	}
	if len(sel.Candidates) != 2 || sel.Candidates[0].Name != "zscore" && sel.Candidates[0].Name != "hbos" ||
		(sel.Default != "zscore" && sel.Default != "hbos") {
		t.Errorf("candidates %+v, default %s: want zscore and hbos", sel.Candidates, sel.Default)
	}
}

func TestEvalErrors(t *testing.T) {
	f := synthetic(t)
	base := []string{"--train", f, "--test", f, "--label-col", "kind", "--normal", "ok"}
	with := func(extra ...string) []string { return append(append([]string(nil), base...), extra...) }
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no args", nil, 2, "--train is required"},
		{"unknown flag", with("--bogus"), 2, "bogus"},
		{"extra argument", with("more"), 2, "unexpected argument"},
		{"unknown detector", with("--detector", "lof"), 2, "unknown detector"},
		{"bad fleet", with("--fleet", "publishers=x"), 2, "not a number"},
		{"fleet key", with("--fleet", "planets=3"), 2, "unknown key"},
		{"fleet malicious", with("--fleet", "publishers=3,malicious=3"), 2, "malicious"},
		{"bad where", with("--train-where", "set"), 2, "COL=VALUE"},
		{"missing file", []string{"--train", "/nonexistent.csv", "--test", f, "--label-col", "kind", "--normal", "ok"}, 1, "nonexistent"},
		{"no label column", with("--label-col", "nope"), 1, `no column "nope"`},
		{"no normal rows", with("--normal", "nope"), 1, "no training rows"},
		{"bad trace", with("--sequence-col", "id", "--holdout", "0.5"), 1, "not an integer"},
		{"all normal rows trained", with(), 1, "no normal test rows"},
		{"bad holdout", with("--holdout", "1"), 2, "holdout"},
		{"bad model", with("--sequence-col", "trace", "--models", "nll,bogus"), 2, "unknown sequence model"},
		{"bad order", with("--order", "99"), 2, "order"},
		{"bad combine", with("--combine", "mean"), 2, "unknown combination"},
		{"bad protocol", with("--protocol", "kfold"), 2, "unknown protocol"},
		{"loafo without families", with("--protocol", "loafo"), 2, "--family-col"},
		{"candidates without loafo", with("--candidates", "zscore"), 2, "--candidates needs --protocol loafo"},
		{"bad candidates", with("--protocol", "loafo", "--family-col", "fam", "--candidates", "("), 2, "missing closing )"},
		{"no candidate", with("--protocol", "loafo", "--family-col", "fam", "--candidates", "^lof$"), 2, "matches no candidate"},
		{"no family column", with("--holdout", "0.5", "--family-col", "nope"), 1, `no column "nope"`},
	} {
		code, _, errs := evalRun(tc.args...)
		if code != tc.code || !strings.HasPrefix(errs, "error: ") || !strings.Contains(errs, tc.msg) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d and %q", tc.name, code, errs, tc.code, tc.msg)
		}
	}
}

func TestEvalParseFleetSpec(t *testing.T) {
	s, err := parseFleetSpec("publishers=20,malicious=2,images=3,instances=10,infected=0.3,repeat=5,seed=1")
	if err != nil || *s != evaluate.DefaultFleet {
		t.Errorf("ParseFleetSpec = %+v, %v", s, err)
	}
	s, err = parseFleetSpec("infected=1, seed=9")
	if err != nil || s.Infected != 1 || s.Seed != 9 || s.Publishers != 20 {
		t.Errorf("partial spec = %+v, %v", s, err)
	}
	for _, bad := range []string{"", "infected=2", "images=0", "repeat=-1", "publishers=1", "publishers=100000,images=1000"} {
		if _, err := parseFleetSpec(bad); err == nil {
			t.Errorf("parseFleetSpec(%q) accepted", bad)
		}
	}
}

// TestEvalCallSetFlag checks that --call-set adds the set features of a
// trace's calls to the default's and that eval runs with them.
func TestEvalCallSetFlag(t *testing.T) {
	f := synthetic(t)
	args := []string{"--train", f, "--test", f, "--label-col", "kind", "--normal", "ok",
		"--train-where", "set=train", "--sequence-col", "trace", "--json"}
	for _, tc := range []struct {
		flags []string
		want  bool
	}{{nil, pipeline.DefaultTraceFeatures().CallSet}, {[]string{"--call-set"}, true}, {[]string{"--call-set=false"}, false}} {
		o, _, _, err := parseEval(append(slices.Clone(args), tc.flags...))
		if err != nil {
			t.Fatalf("%v: %v", tc.flags, err)
		}
		if got := o.Features == nil && pipeline.DefaultTraceFeatures().CallSet || o.Features != nil && o.Features.CallSet; got != tc.want {
			t.Errorf("%v: call set %v, want %v", tc.flags, got, tc.want)
		}
		if code, out, errs := evalRun(append(slices.Clone(args), tc.flags...)...); code != 0 || !strings.Contains(out, `"auc"`) {
			t.Errorf("%v: exit %d: %s %s", tc.flags, code, out, errs)
		}
	}
}
