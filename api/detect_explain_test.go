package api_test

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"imgward/monitor"
)

// TestDetectExplains checks that a baseline build says why it skipped a
// role, and a detection run why it left each instance unscored: no
// snapshot, no role, no baseline for the role; and GET /v1/verdicts.
func TestDetectExplains(t *testing.T) {
	e := newDetectEnv(t, monitor.Config{})
	web, db, plain, user := e.tenant("web"), e.tenant("db"), e.tenant("plain"), e.tenant("user")
	webImg, dbImg, plainImg := e.publicImage(web, "w"), e.publicImage(db, "d"), e.publicImage(plain, "p")
	e.do("PUT", "/v1/images/"+webImg+"/role", e.admin, map[string]string{"role": "web"}, 200, nil)
	e.do("PUT", "/v1/images/"+dbImg+"/role", e.admin, map[string]string{"role": "db"}, 200, nil)
	e.do("PUT", "/v1/publishers/"+web.project+"/trust", e.admin, map[string]bool{"trusted": true}, 200, nil)
	webIDs, dbIDs, plainIDs := e.launchN(user, webImg, 12), e.launchN(user, dbImg, 3), e.launchN(user, plainImg, 2)
	rng := rand.New(rand.NewPCG(5, 6))
	now := time.Now().Add(-time.Minute)
	var lines []string
	for _, id := range slices.Concat(webIDs[:11], dbIDs, plainIDs) { // webIDs[11] stays silent
		lines = append(lines, behaviour(rng, id, false, now))
	}
	e.post(e.admin, "", batch(lines...), 200)

	var built struct {
		Built   []struct{ Role string }
		Skipped map[string]string
	}
	e.do("POST", "/v1/baselines/build", e.admin, nil, 200, &built)
	if len(built.Built) != 1 || built.Built[0].Role != "web" ||
		built.Skipped["db"] != "0 trusted instances with snapshots, need 10; 3 more of untrusted publishers" {
		t.Errorf("build: %+v", built)
	}
	var run monitor.Report
	e.do("POST", "/v1/detect/run", e.admin, nil, 200, &run)
	want := map[string]int{monitor.UnscoredNoBaseline: 3, monitor.UnscoredNoRole: 2, monitor.UnscoredNoSnapshot: 1}
	if run.Scored != 11 || run.Unscored != 6 || len(run.UnscoredBy) != 3 || len(run.UnscoredList) != 6 {
		t.Fatalf("run: %+v", run)
	}
	for reason, n := range want {
		if run.UnscoredBy[reason] != n {
			t.Errorf("%s: %d instances, want %d", reason, run.UnscoredBy[reason], n)
		}
	}
	for _, u := range run.UnscoredList {
		id := string(u.Instance)
		ok := u.Reason == monitor.UnscoredNoBaseline && slices.Contains(dbIDs, id) && u.Role == "db" ||
			u.Reason == monitor.UnscoredNoRole && slices.Contains(plainIDs, id) && u.Role == "" ||
			u.Reason == monitor.UnscoredNoSnapshot && id == webIDs[11] && u.Role == "web" && string(u.Image) == webImg
		if !ok {
			t.Errorf("unscored %+v", u)
		}
	}

	var vs struct{ Verdicts []verdictOut }
	e.do("GET", "/v1/verdicts?kind=instance", e.admin, nil, 200, &vs)
	if len(vs.Verdicts) != 11 {
		t.Errorf("%d instance verdicts, want 11", len(vs.Verdicts))
	}
	e.do("GET", "/v1/verdicts?kind=image&state=cleared", e.admin, nil, 200, &vs)
	if len(vs.Verdicts) != 0 {
		t.Errorf("cleared image verdicts: %+v", vs.Verdicts)
	}
	for _, tt := range []struct {
		query, token string
		want         int
		msg          string
	}{
		{"kind=publisher", user.token, 403, "admin role"},
		{"", e.admin, 400, "kind must be"},
		{"kind=publisher&state=bad", e.admin, 400, "state must be"},
	} {
		var out struct{ Error struct{ Message string } }
		e.do("GET", "/v1/verdicts?"+tt.query, tt.token, nil, tt.want, &out)
		if !strings.Contains(out.Error.Message, tt.msg) {
			t.Errorf("?%s: %q, want %q", tt.query, out.Error.Message, tt.msg)
		}
	}
}
