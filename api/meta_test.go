package api_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"imgward/monitor"
)

// TestLabelCannotMoveScore checks that metadata is never a feature, through
// the service's own path: baselines are learned from snapshots labelled
// "Benign" (meta.label, as imgward replay stores a dataset's label) with a
// numeric meta.row, and two publishers whose instances send identical
// numbers and sets, one labelled "Benign" and one "Malware" with wild
// meta.row, get the same scores and the same verdicts.
func TestLabelCannotMoveScore(t *testing.T) {
	e := newDetectEnv(t, monitor.Config{})
	good1, good2, a, b := e.tenant("good1"), e.tenant("good2"), e.tenant("a"), e.tenant("b")
	user, user2 := e.tenant("user"), e.tenant("user2")
	col := e.collector()
	_, fleets := e.webFleets(user, user2, []tenant{good1, good2, a, b}, []int{15, 15, 8, 8})
	now := time.Now().Add(-time.Minute)
	rng := rand.New(rand.NewPCG(7, 8))
	var lines []string
	for _, pub := range []tenant{good1, good2} {
		for i, id := range fleets[pub.project] {
			s := behaviourOf(rng, id, false, now)
			s.Sets["meta.label"] = []string{"Benign"}
			s.Numeric["meta.row"] = float64(i)
			lines = append(lines, marshalLine(s))
		}
	}
	// Instance i of a and of b behave the same: the same random draws,
	// the first three mining. Only their metadata differ.
	for i := range 8 {
		for _, pub := range []tenant{a, b} {
			s := behaviourOf(rand.New(rand.NewPCG(9, uint64(i))), fleets[pub.project][i], i < 3, now)
			s.Sets["meta.label"], s.Numeric["meta.row"] = []string{"Benign"}, float64(i)
			if pub == b {
				s.Sets["meta.label"], s.Numeric["meta.row"] = []string{"Malware"}, 1e6
				s.Sets["meta.note"] = []string{"attack", "family-7"}
			}
			lines = append(lines, marshalLine(s))
		}
	}
	e.post(col, "", batch(lines...), 200)
	e.do("POST", "/v1/baselines/build", e.admin, nil, 200, nil)
	var run monitor.Report
	e.do("POST", "/v1/detect/run", e.admin, nil, 200, &run)
	if run.Scored != 46 {
		t.Fatalf("detect run: %+v", run)
	}
	var risk struct{ Publishers []verdictOut }
	e.do("GET", "/v1/publishers?risk=1", e.admin, nil, 200, &risk)
	got := map[string]verdictOut{}
	for _, v := range risk.Publishers {
		got[v.Subject] = v
	}
	va, vb := got[a.project], got[b.project]
	// The same to rounding: the fleet sums the instances in id order.
	if va.Score == 0 || math.Abs(va.Score-vb.Score) > 1e-9*va.Score || va.State != vb.State || va.Threshold != vb.Threshold {
		t.Errorf("identical behaviour, different labels: %+v and %+v, want the same verdict", va, vb)
	}
	// The explanation names no metadata either.
	var fleet struct {
		Verdict struct{ Explanation []struct{ Feature string } }
	}
	e.do("GET", "/v1/publishers/"+b.project+"/fleet", e.admin, nil, 200, &fleet)
	for _, d := range fleet.Verdict.Explanation {
		if len(d.Feature) >= 5 && d.Feature[:5] == "meta." {
			t.Errorf("explanation names %s", d.Feature)
		}
	}
}
