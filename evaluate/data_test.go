package evaluate

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"imgward/detect"
	"imgward/fleet"
)

// dataDir returns ../shared/data beside the module root, skipping the test
// when it is absent.
func dataDir(t testing.TB) string {
	t.Helper()
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
			t.Skip("module root not found")
		}
		dir = parent
	}
	data := filepath.Join(dir, "..", "shared", "data")
	if _, err := os.Stat(data); err != nil {
		t.Skipf("no evaluation data at %s", data)
	}
	return data
}

func malmem(t testing.TB) Options {
	f := filepath.Join(dataDir(t), "cic-malmem-2022", "malmem-dev.csv")
	return Options{Train: f, Test: f, LabelCol: "Class", Normal: "Benign", Detector: detect.DefaultName}
}

func adfa(t testing.TB) Options {
	f := filepath.Join(dataDir(t), "adfa-ld", "adfa-ld-dev.csv")
	return Options{Train: f, Test: f, LabelCol: "label", Normal: "normal",
		Where: []Where{{"set", "train"}}, SequenceCol: "syscalls", Detector: detect.DefaultName}
}

func evaluate(t *testing.T, o Options) *Result {
	t.Helper()
	r, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestMalMem asserts the target of docs/EVALUATION.md: instance ROC AUC of
// at least 0.98 (scikit-learn's IsolationForest: 0.983), for the default
// detector and for the isolation forest alone.
func TestMalMem(t *testing.T) {
	o := malmem(t)
	o.Fleet = &DefaultFleet
	r := evaluate(t, o)
	t.Logf("ensemble: %+v publisher %+v", r, *r.Publisher)
	if r.NTrain != 2000 || r.NTest != 12020 || r.Instance.AUC < 0.98 || r.Publisher.AUC < 0.99 {
		t.Errorf("MalMem: %+v %+v", r, *r.Publisher)
	}
	o.Detector, o.Fleet = "iforest", nil
	if r := evaluate(t, o); r.Instance.AUC < 0.983 {
		t.Errorf("MalMem iforest AUC %v < scikit-learn's 0.983", r.Instance.AUC)
	}
}

// TestADFA asserts floors on ADFA-LD scored through the service's pipeline
// (detect/pipeline, since eval runs it): with the command, whose
// test set holds the training traces too, 0.830 (publisher 0.94), and on
// the held-out split (train traces left out of the test set) 0.790, with
// the default sequence features. Eval's own features before (the
// consensus, without the service's syscalls.count and syscalls.novel)
// gave 0.90 and 0.875; the default is to be chosen by a protocol that
// trains on no test row.
func TestADFA(t *testing.T) {
	o := adfa(t)
	o.Fleet = &DefaultFleet
	r := evaluate(t, o)
	t.Logf("ensemble: %+v publisher %+v", r, *r.Publisher)
	if r.NTrain != 833 || r.NTest != 3448 || r.Instance.AUC < 0.82 || r.Publisher.AUC < 0.90 {
		t.Errorf("ADFA-LD: %+v %+v", r, *r.Publisher)
	}
	o.Test, o.Fleet = heldOut(t, o.Test), nil
	if r := evaluate(t, o); r.NTest != 2615 || r.Instance.AUC < 0.78 {
		t.Errorf("ADFA-LD held out: %+v", r)
	}
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
