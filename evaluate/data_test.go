package evaluate

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"imgward/detect"
	"imgward/detect/pipeline"
	"imgward/detect/trace"
	"imgward/fleet"
)

// dataDir returns ../shared/data beside the module root. Without it the
// test is skipped, except under CI=true, where it fails: a CI run must
// measure the reported protocols, not skip them.
func dataDir(t testing.TB) string {
	t.Helper()
	missing := t.Skipf
	if os.Getenv("CI") == "true" {
		missing = t.Fatalf
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			missing("module root not found above %s", dir)
		}
		dir = parent
	}
	data := filepath.Join(dir, "..", "shared", "data")
	if _, err := os.Stat(data); err != nil {
		missing("no evaluation data at %s", data)
	}
	return data
}

// malmem is the reported CIC-MalMem-2022 protocol: train on half of the
// Benign rows (split seed 1), test on the other half and every malware
// family.
func malmem(t testing.TB) Options {
	f := filepath.Join(dataDir(t), "cic-malmem-2022", "malmem-dev.csv")
	return Options{Train: f, Test: f, LabelCol: "Class", Normal: "Benign", Detector: detect.DefaultName,
		FamilyCol: "Category", Holdout: 0.5, SplitSeed: 1}
}

// adfa is the reported ADFA-LD protocol: train on the set=train traces,
// test on the validation traces and every attack family.
func adfa(t testing.TB) Options {
	f := filepath.Join(dataDir(t), "adfa-ld", "adfa-ld-dev.csv")
	return Options{Train: f, Test: f, LabelCol: "label", Normal: "normal", FamilyCol: "family",
		Where: []Where{{"set", "train"}}, SequenceCol: "syscalls"}
}

func evaluate(t testing.TB, o Options) *Result {
	t.Helper()
	r, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// checkFloors fails t unless every family named in floors reaches its
// floor, every family of r is named, and the pooled AUC reaches pooled.
func checkFloors(t *testing.T, r *Result, pooled float64, floors map[string]float64) {
	t.Helper()
	if r.Instance.AUC < pooled {
		t.Errorf("pooled AUC %.4f < %.3f", r.Instance.AUC, pooled)
	}
	if len(r.Families) != len(floors) {
		t.Errorf("families %v, want %d", r.Families, len(floors))
	}
	for f, floor := range floors {
		if m, ok := r.Families[f]; !ok || m.AUC < floor {
			t.Errorf("%s: AUC %.4f < %.3f", f, m.AUC, floor)
		}
	}
}

// TestMalMem asserts the MalMem protocol of docs/EVALUATION.md: the
// default detector, trained on 1,000 Benign rows, separates the other
// 1,000 from each malware family with AUC 0.992–0.997 (floors 0.005–0.01
// below, above the goal of 0.98), and publishers by their fleets.
func TestMalMem(t *testing.T) {
	o := malmem(t)
	o.Fleet = &DefaultFleet
	r := evaluate(t, o)
	t.Logf("%s: %+v publisher %+v", o.Detector, r, *r.Publisher)
	if r.NTrain != 1000 || r.NTest != 11020 || r.Publisher.AUC < 0.99 {
		t.Errorf("MalMem: %+v %+v", r, *r.Publisher)
	}
	checkFloors(t, r, 0.99, map[string]float64{"Spyware-180solutions": 0.99, "Spyware-CWS": 0.99,
		"Spyware-Gator": 0.99, "Spyware-TIBS": 0.99, "Spyware-Transponder": 0.985})
	// Our isolation forest at least matches scikit-learn's on this split.
	o.Detector, o.Fleet = "iforest", nil
	if r := evaluate(t, o); r.Instance.AUC < 0.98 {
		t.Errorf("MalMem iforest AUC %.4f < 0.98", r.Instance.AUC)
	}
}

// TestADFA asserts the ADFA-LD protocol of docs/EVALUATION.md, scored
// through the service's pipeline with its default for traces: trained on
// the 833 set=train traces, tested on the 2,186 validation traces and each
// attack family. The floors sit 0.012 below the measured AUCs (fits are
// deterministic: the margin is for honest changes, not noise), the pooled
// true-positive rate at 1% false positives 0.05 below (measured 0.256;
// 0.005 with the previous default, sep(unseen6,calls)/ecod, whose ties at
// the top this default's ECODX breaks), and on its
// worst family the default beats by 0.02 (measured 0.054–0.118) the
// configurations it replaced: the service's default before the
// selection, with the set features of a trace's calls; the service's
// features before that; and eval's former consensus.
func TestADFA(t *testing.T) {
	o := adfa(t)
	o.Fleet = &DefaultFleet
	r := evaluate(t, o)
	t.Logf("default: %+v publisher %+v", r, *r.Publisher)
	if r.NTrain != 833 || r.NTest != 2615 || r.Publisher.AUC < 0.95 {
		t.Errorf("ADFA-LD: %+v %+v", r, *r.Publisher)
	}
	checkFloors(t, r, 0.869, map[string]float64{"Adduser": 0.878, "Hydra_FTP": 0.873, "Hydra_SSH": 0.862})
	if r.Instance.TPR < 0.2 {
		t.Errorf("ADFA-LD: pooled TPR at 1%% FPR %.3f < 0.2", r.Instance.TPR)
	}
	for _, base := range []struct {
		name    string
		combine trace.Combine
		models  []trace.Model
	}{
		{"sep(nll6,unseen6,calls,pairs)+set", trace.Separate, []trace.Model{trace.NLL, trace.Unseen, trace.Calls, trace.Pairs}},
		{"sep(nll6,unseen6)+set", trace.Separate, []trace.Model{trace.NLL, trace.Unseen}},
		{"min(nll6,calls,pairs)+set", trace.Min, []trace.Model{trace.NLL, trace.Calls, trace.Pairs}},
	} {
		o := adfa(t)
		o.Combine, o.Models, o.Detector = base.combine, base.models, "ensemble"
		o.Features = &pipeline.TraceFeatures{CallSet: true}
		b := evaluate(t, o)
		t.Logf("%s: %+v", base.name, b)
		if worst(r.Families) < worst(b.Families)+0.02 {
			t.Errorf("worst family %.4f, %s's %.4f: want 0.02 more", worst(r.Families), base.name, worst(b.Families))
		}
	}
}

// worst returns the smallest AUC of the families.
func worst(fams map[string]Metrics) float64 {
	w := 1.0
	for _, m := range fams {
		w = min(w, m.AUC)
	}
	return w
}

// TestFleetAggregators logs how the ways a publisher's state can fold its
// instances' surprise compare; docs/EVALUATION.md quotes it.
func TestFleetAggregators(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	for _, ds := range []struct {
		name string
		o    Options
	}{{"malmem", malmem(t)}, {"adfa", adfa(t)}} {
		for _, p := range []fleet.Param{{Strategy: fleet.Mean}, {Strategy: fleet.Quantile, Q: 0.5},
			{Strategy: fleet.Quantile, Q: 0.9}, {Strategy: fleet.Max}} {
			o := ds.o
			spec := DefaultFleet
			o.Fleet, o.FleetParam = &spec, p
			r := evaluate(t, o)
			t.Logf("%-6s %-8s q=%.1f instance auc %.4f tpr %.4f  publisher auc %.4f tpr %.4f",
				ds.name, p.Strategy, p.Q, r.Instance.AUC, r.Instance.TPR, r.Publisher.AUC, r.Publisher.TPR)
		}
	}
}
