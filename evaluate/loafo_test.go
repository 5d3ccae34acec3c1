package evaluate

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"imgward/detect/trace"
	"imgward/errors"
)

// TestSelectionBest checks that a candidate is judged by its worst family,
// not by its mean, and that the choice without a family ignores it.
func TestSelectionBest(t *testing.T) {
	s := &Selection{Candidates: []Scored{
		{Name: "sharp", Families: map[string]float64{"a": 0.99, "b": 0.99, "c": 0.70}}, // best mean
		{Name: "even", Families: map[string]float64{"a": 0.85, "b": 0.86, "c": 0.84}},
		{Name: "tie", Families: map[string]float64{"a": 0.84, "b": 0.90, "c": 0.84}},
	}}
	for _, tt := range []struct{ without, want string }{
		{"", "even"},   // worst 0.84 against 0.70; "tie" ties and comes later
		{"c", "sharp"}, // without c, sharp's worst is 0.99
		{"a", "even"},  // 0.84 against 0.70 and 0.84
		{"b", "even"},  // 0.84 against 0.70 and 0.84
		{"zz", "even"}, // an unknown family changes nothing
	} {
		if got := s.best(tt.without); got != tt.want {
			t.Errorf("best(%q) = %s, want %s", tt.without, got, tt.want)
		}
	}
}

// families writes a CSV of normal rows and two anomaly families: "near"
// moves x a little, "far" moves y a lot; half the normal rows are in
// set=train. It returns the file's name.
func families(t *testing.T) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	var b strings.Builder
	b.WriteString("x,y,label,fam,set\n")
	for i := range 600 {
		x, y := rng.NormFloat64(), rng.NormFloat64()
		label, fam, set := "normal", "-", "train"
		switch {
		case i%12 == 0:
			label, fam, x = "attack", "near", x+2
		case i%12 == 1:
			label, fam, y = "attack", "far", y+6
		case i%2 == 1:
			set = "validation"
		}
		fmt.Fprintf(&b, "%.4f,%.4f,%s,%s,%s\n", x, y, label, fam, set)
	}
	name := filepath.Join(t.TempDir(), "families.csv")
	if err := os.WriteFile(name, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

func TestSelect(t *testing.T) {
	f := families(t)
	o := Options{Train: f, Test: f, LabelCol: "label", Normal: "normal", FamilyCol: "fam",
		Where: []Where{{"set", "train"}}}
	sel, err := Select(context.Background(), o, DetectorCandidates(), 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(sel.Candidates) != len(DetectorCandidates()) || fmt.Sprint(sel.Families) != "[far near]" {
		t.Fatalf("selection %+v", sel)
	}
	for _, c := range sel.Candidates {
		if c.Families["far"] < 0.95 || c.Worst != min(c.Families["far"], c.Families["near"]) {
			t.Errorf("%s: %v, worst %v", c.Name, c.Families, c.Worst)
		}
	}
	if sel.Default != sel.best("") || sel.Chosen["near"] != sel.best("near") || sel.Chosen["far"] != sel.best("far") {
		t.Errorf("default %s, chosen %v", sel.Default, sel.Chosen)
	}
	// The test rows are the validation rows and the attacks, never a
	// training row: 150 normal training rows of 600.
	r := sel.DefaultTest
	if r == nil || r.NTrain != 250 || r.NTest != 350 || len(sel.Test) != 2 || sel.Test["far"].AUC < 0.95 {
		t.Errorf("test %+v, per family %v", r, sel.Test)
	}
}

func TestSelectErrors(t *testing.T) {
	f := families(t)
	o := Options{Train: f, Test: f, LabelCol: "label", Normal: "normal", FamilyCol: "fam"}
	normalOnly := filepath.Join(t.TempDir(), "normal.csv")
	if err := os.WriteFile(normalOnly, []byte("x,label,fam\n1,normal,-\n2,normal,-\n3,normal,-\n4,normal,-\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		o     Options
		cands []Candidate
		folds int
	}{
		{"no family column", Options{Train: f, Test: f, LabelCol: "label", Normal: "normal"}, DetectorCandidates(), 3},
		{"one fold", o, DetectorCandidates(), 1},
		{"no candidates", o, nil, 3},
		{"no anomalies", func() Options { o := o; o.Train, o.Test = normalOnly, normalOnly; return o }(), DetectorCandidates(), 3},
		{"too many folds", o, DetectorCandidates(), 400},
	} {
		_, err := Select(context.Background(), tt.o, tt.cands, tt.folds)
		t.Logf("%s: %v", tt.name, err)
		if !errors.Is(errors.Invalid, err) {
			t.Errorf("%s: err = %v", tt.name, err)
		}
	}
}

// TestSequenceCandidates checks that the candidates are named once each
// and configure what their names say: the GRU candidates the small GRU
// (rnn16) or --recurrent's (rnn), the others none, and each model named in
// the name.
func TestSequenceCandidates(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range SequenceCandidates() {
		if seen[c.Name] {
			t.Errorf("%s: named twice", c.Name)
		}
		seen[c.Name] = true
		o := c.apply(Options{})
		var want *trace.RecurrentConfig
		switch {
		case strings.Contains(c.Name, string(rnnModel)):
			want = &candidateGRU
		case strings.Contains(c.Name, ","+string(serviceRNN)+")"):
			want = &trace.RecurrentConfig{}
		}
		gru := want != nil
		if o.Recurrent != gru || (gru && *o.recurrent() != *want) || o.Neural {
			t.Errorf("%s: recurrent %v (%+v), neural %v", c.Name, o.Recurrent, o.recurrent(), o.Neural)
		}
		for _, m := range c.Models {
			if !strings.Contains(c.Name, string(m)) {
				t.Errorf("%s: model %s not named", c.Name, m)
			}
		}
		if s := o.sequence(); !gru && len(s.Models) == 0 {
			t.Errorf("%s: no model", c.Name)
		}
	}
	for _, name := range []string{"sep(nll6,calls,pairs)/ecod", "local6", "sep(calls,pairs,local6)/ecod",
		"fisher(nll6,calls,shape)", "sep(nll6,calls,pairs,rnn16)/ecod", "rnn16",
		"cover", "sep(cover,calls)/ecod", "min(unseen6,covnear)", "fisher(nll6,calls,matchlow)", "sep(unseen6,calls,match20)",
		"sep(cnll6,calls)/ecodx", "cunseen6/ecodx", "sep(nll6,calls,rnn)/ecodx", "sep(calls,rnn)/ecodx"} {
		if !seen[name] {
			t.Errorf("no candidate %s", name)
		}
	}
}
