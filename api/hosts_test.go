package api_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"imgward"
	"imgward/monitor"
)

// TestCollectorHosts is the attack of issue 9: a collector of project X
// posts snapshots of project Y's instances, which run on another host, to
// get Y's publisher flagged. The batch is refused with 403, audited with
// its reason, and changes nothing; Y stays unflagged. The same batch from
// an admin is accepted and does flag Y, so the refusal is what stops it.
func TestCollectorHosts(t *testing.T) {
	e := newDetectEnv(t, monitor.Config{})
	good1, good2, victim := e.tenant("good1"), e.tenant("good2"), e.tenant("victim")
	user, user2 := e.tenant("user"), e.tenant("user2")
	genuine := e.collector() // bound to hv-1, where every fleet runs
	images, fleets := e.webFleets(user, user2, []tenant{good1, good2, victim}, []int{15, 15, 8})
	attacker := e.collectorOf("x", "hv-9")
	own := e.launchOn(user, images[victim.project], "hv-9", 1)[0] // X's host runs one
	noHost := e.launchOn(user, images[victim.project], "", 1)[0]
	unbound := e.collectorOf("z")

	rng := rand.New(rand.NewPCG(5, 6))
	now := time.Now().Add(-time.Minute)
	var lines []string
	for _, ids := range fleets {
		for _, id := range ids {
			lines = append(lines, behaviour(rng, id, false, now))
		}
	}
	e.post(genuine, "", batch(lines...), 200)
	var zombies []string
	for _, id := range fleets[victim.project] {
		zombies = append(zombies, behaviour(rng, id, true, now.Add(time.Second)))
	}
	ownLine := behaviour(rng, own, true, now)

	tests := []struct {
		name, token, body string
		want              int
		msg               string
	}{
		{"foreign instances", attacker, batch(zombies...), 403, "line 1: instance " + fleets[victim.project][0] + " is not on a host of this collector"},
		{"own then foreign", attacker, batch(ownLine, zombies[0]), 403, "line 2: "},
		{"no recorded host", attacker, batch(behaviour(rng, noHost, false, now)), 403, "not on a host"},
		{"collector without hosts", unbound, batch(ownLine), 403, "create it with --hosts"},
		{"genuine on its host", genuine, batch(behaviour(rng, fleets[victim.project][0], false, now)), 200, ""},
		{"no recorded host, genuine", genuine, batch(behaviour(rng, noHost, false, now)), 403, "not on a host"},
		{"its own host", attacker, batch(ownLine), 200, ""},
	}
	for _, tt := range tests {
		body := e.post(tt.token, "", tt.body, tt.want)
		if !strings.Contains(body, tt.msg) {
			t.Errorf("%s: body %s, want %q", tt.name, body, tt.msg)
		}
	}

	// Every refusal is audited with its reason.
	var audit struct {
		Entries []struct{ Action, Result, Reason string }
	}
	e.do("GET", "/v1/audit", e.admin, nil, 200, &audit)
	var reasons []string
	for _, a := range audit.Entries {
		if a.Action == "snapshot.ingest" && a.Result == imgward.ResultDenied {
			reasons = append(reasons, a.Reason)
		}
	}
	wantReasons := []string{
		"instance " + fleets[victim.project][0] + " is on host hv-1, not a host of the collector",
		"instance " + fleets[victim.project][0] + " is on host hv-1, not a host of the collector",
		"instance " + noHost + " is on no recorded host, not a host of the collector",
		"collector bound to no host",
		"instance " + noHost + " is on no recorded host, not a host of the collector",
	}
	if strings.Join(reasons, "\n") != strings.Join(wantReasons, "\n") {
		t.Errorf("denials audited:\n%s\nwant:\n%s", strings.Join(reasons, "\n"), strings.Join(wantReasons, "\n"))
	}

	// Nothing of a refused batch was stored: the instance that X may
	// report has one snapshot (its own accepted batch), not two.
	counts := map[imgward.InstanceID]int64{}
	e.svc.Store.View(t.Context(), func(tx imgward.Tx) error {
		recs, err := tx.LatestSnapshots(t.Context(), "", 0)
		for _, r := range recs {
			counts[r.InstanceID] = r.Count
		}
		return err
	})
	if counts[imgward.InstanceID(own)] != 1 || counts[imgward.InstanceID(fleets[victim.project][1])] != 1 {
		t.Errorf("snapshots stored: own %d, victim's second %d; want 1 and 1", counts[imgward.InstanceID(own)],
			counts[imgward.InstanceID(fleets[victim.project][1])])
	}

	// The victim stays unflagged. Drop X's one zombie on hv-9 first: it is
	// X's to report, but it is not what this test is about.
	e.do("DELETE", "/v1/instances/"+own, user.token, nil, 200, nil)
	e.do("POST", "/v1/baselines/build", e.admin, nil, 200, nil)
	var run monitor.Report
	e.do("POST", "/v1/detect/run", e.admin, nil, 200, &run)
	if len(run.Flagged) != 0 {
		t.Fatalf("detect run after the refused attack flagged %v", run.Flagged)
	}
	// Had the batch been accepted, the victim would have been flagged.
	e.post(e.admin, "", batch(zombies...), 200)
	e.do("POST", "/v1/detect/run", e.admin, nil, 200, &run)
	if len(run.Flagged) != 1 || run.Flagged[0] != imgward.ProjectID(victim.project) {
		t.Errorf("the attack's batch from an admin: flagged %v, want the victim", run.Flagged)
	}
}

// TestCreateCollector checks the hosts of POST /v1/users.
func TestCreateCollector(t *testing.T) {
	e := newDetectEnv(t, monitor.Config{})
	var p struct{ ID string }
	e.do("POST", "/v1/projects", e.admin, map[string]string{"name": "ops"}, 201, &p)
	tests := []struct {
		name string
		body map[string]any
		want int
		msg  string
	}{
		{"member with hosts", map[string]any{"name": "m", "project_id": p.ID, "hosts": []string{"hv-1"}}, 400, "collector role only"},
		{"bad host", map[string]any{"name": "c", "project_id": p.ID, "role": "collector", "hosts": []string{"hv 1"}}, 400, "not a host name"},
		{"empty host", map[string]any{"name": "c", "project_id": p.ID, "role": "collector", "hosts": []string{""}}, 400, "not a host name"},
		{"too many", map[string]any{"name": "c", "project_id": p.ID, "role": "collector", "hosts": make([]string, 1025)}, 400, "at most 1024"},
		{"not strings", map[string]any{"name": "c", "project_id": p.ID, "role": "collector", "hosts": "hv-1"}, 400, ""},
	}
	for _, tt := range tests {
		var out struct{ Error struct{ Message string } }
		e.do("POST", "/v1/users", e.admin, tt.body, tt.want, &out)
		if !strings.Contains(out.Error.Message, tt.msg) {
			t.Errorf("%s: %q, want %q", tt.name, out.Error.Message, tt.msg)
		}
	}
	var u struct {
		Hosts []string
		Token string
	}
	e.do("POST", "/v1/users", e.admin, map[string]any{"name": "c", "project_id": p.ID, "role": "collector",
		"hosts": []string{"hv-2", "hv-1", "hv-2"}}, 201, &u)
	if strings.Join(u.Hosts, ",") != "hv-1,hv-2" {
		t.Errorf("hosts %v, want hv-1,hv-2", u.Hosts)
	}
	// The audit entry names a few hosts, and counts many.
	many := make([]string, 100)
	for i := range many {
		many[i] = fmt.Sprintf("hv-%03d.example.org", i)
	}
	e.do("POST", "/v1/users", e.admin, map[string]any{"name": "c2", "project_id": p.ID, "role": "collector", "hosts": many}, 201, &u)
	if len(u.Hosts) != 100 {
		t.Errorf("%d hosts kept, want 100", len(u.Hosts))
	}
	var audit struct {
		Entries []struct{ Action, Reason string }
	}
	e.do("GET", "/v1/audit", e.admin, nil, 200, &audit)
	var reasons []string
	for _, a := range audit.Entries {
		if a.Action == "user.create" {
			reasons = append(reasons, a.Reason)
		}
	}
	if want := []string{"role collector, hosts hv-1,hv-2", "role collector, 100 hosts"}; !slices.Equal(reasons, want) {
		t.Errorf("user.create audited %q, want %q", reasons, want)
	}
}
