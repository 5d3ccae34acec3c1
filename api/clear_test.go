package api_test

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"imgward"
	"imgward/monitor"
)

// TestClearedPublisherNotImmune clears flagged publishers and checks that
// `detect run` leaves them cleared while their fleets behave the same, and
// flags them again when their fleets turn worse: "atcap", whose every
// instance was already at the cap of the surprise when it was cleared (a
// publisher that the capped score alone could never flag again), when its
// anomaly grows stronger; "partly", when more of its instances turn
// anomalous.
func TestClearedPublisherNotImmune(t *testing.T) {
	e := newDetectEnv(t, monitor.Config{})
	good1, good2, atcap, partly := e.tenant("good1"), e.tenant("good2"), e.tenant("atcap"), e.tenant("partly")
	user, user2 := e.tenant("user"), e.tenant("user2")
	col := e.collector()
	_, fleets := e.webFleets(user, user2, []tenant{good1, good2, atcap, partly}, []int{15, 15, 8, 10})
	rng := rand.New(rand.NewPCG(13, 14))
	now := time.Now().Add(-time.Minute)
	// post sends a snapshot of every instance: for atcap every one a
	// zombie, stronger when strong; for partly the first infected ones.
	post := func(strong bool, infected int) {
		t.Helper()
		var lines []string
		for p, ids := range fleets {
			for i, id := range ids {
				s := behaviourOf(rng, id, p == atcap.project || p == partly.project && i < infected, now)
				if p == atcap.project && strong {
					s.Numeric["conns"] *= 50
					s.Numeric["threads"] *= 20
					s.Sets["procs"] = append(s.Sets["procs"], "xmrig", "masscan", "tsunami")
				}
				lines = append(lines, marshalLine(s))
			}
		}
		e.post(col, "", batch(lines...), 200)
	}
	verdicts := func() map[string]verdictOut {
		var risk struct{ Publishers []verdictOut }
		e.do("GET", "/v1/publishers?risk=1", e.admin, nil, 200, &risk)
		m := map[string]verdictOut{}
		for _, v := range risk.Publishers {
			m[v.Subject] = v
		}
		return m
	}
	run := func(step string, want ...tenant) map[string]verdictOut {
		t.Helper()
		var rep monitor.Report
		e.do("POST", "/v1/detect/run", e.admin, nil, 200, &rep)
		var wantIDs []imgward.ProjectID
		for _, w := range want {
			wantIDs = append(wantIDs, imgward.ProjectID(w.project))
		}
		if len(rep.Flagged) != len(wantIDs) || len(want) > 0 && !sameSet(rep.Flagged, wantIDs) {
			t.Fatalf("%s: flagged %v, want %v; verdicts %+v", step, rep.Flagged, wantIDs, verdicts())
		}
		return verdicts()
	}

	post(false, 3)
	e.do("POST", "/v1/baselines/build", e.admin, nil, 200, nil)
	vs := run("first run", atcap, partly)
	if v := vs[atcap.project]; v.Score != 10 || v.Uncapped <= 10 {
		t.Fatalf("atcap's verdict %+v: want every instance at the cap, score 10, uncapped beyond", v)
	}
	for _, p := range []tenant{atcap, partly} {
		var v verdictOut
		e.do("POST", "/v1/publishers/"+p.project+"/clear", e.admin, nil, 200, &v)
		if v.State != "cleared" || v.ClearedScore != v.Uncapped {
			t.Errorf("cleared verdict %+v: want cleared at its uncapped score", v)
		}
	}
	// The same behaviour, reported again, flags nobody.
	post(false, 3)
	vs = run("same behaviour")
	for _, p := range []tenant{atcap, partly} {
		if v := vs[p.project]; v.State != "cleared" || v.Score <= v.Threshold {
			t.Errorf("same behaviour: %+v, want cleared, over the threshold", v)
		}
	}
	// atcap's anomaly grows stronger: its capped score cannot rise, its
	// uncapped one does, and it is flagged again; partly stays cleared.
	post(true, 3)
	vs = run("stronger anomaly", atcap)
	if v := vs[atcap.project]; v.State != "flagged" || v.Score != 10 {
		t.Errorf("stronger anomaly: %+v, want flagged at score 10", v)
	}
	var audit struct {
		Entries []struct{ Action, Object, Reason string }
	}
	e.do("GET", "/v1/audit", e.admin, nil, 200, &audit)
	var reasons []string
	for _, a := range audit.Entries {
		if a.Action == "publisher.flag" && a.Object == "publisher/"+atcap.project {
			reasons = append(reasons, a.Reason)
		}
	}
	if len(reasons) != 2 || !strings.Contains(reasons[1], "flagged again after clearing: uncapped ") {
		t.Errorf("audited flags of atcap: %q, want the second to say why it was flagged again", reasons)
	}
	// More of partly's instances turn anomalous: flagged again.
	post(true, 7)
	vs = run("more infected instances", partly)
	if v := vs[partly.project]; v.State != "flagged" {
		t.Errorf("more infected instances: %+v, want flagged", v)
	}
}

func sameSet(a, b []imgward.ProjectID) bool {
	seen := map[imgward.ProjectID]int{}
	for _, x := range a {
		seen[x]++
	}
	for _, x := range b {
		seen[x]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return len(a) == len(b)
}
