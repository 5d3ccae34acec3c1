package main

import (
	"encoding/json"
	"testing"

	"imgward/introspect/sim"
)

// TestSimulatedCloud builds the simulator's cloud (20 publishers, one
// malicious infecting every instance, one infecting 30%) on a live
// server, trusts half the benign publishers, learns baselines, runs
// detection, and checks that the fully infecting publisher is flagged and
// no benign one, and that flagged fleets are listed. Several seeds, so that
// the default thresholds are not tuned to one draw. The publisher infecting
// 30% of its 15 instances is flagged when enough of them draw the payload
// (9 of 10 seeds when this was written; seed 10 infected too few): the
// test logs it and does not require it.
func TestSimulatedCloud(t *testing.T) {
	if testing.Short() {
		t.Skip("builds three simulated clouds")
	}
	for _, seed := range []string{"1", "2", "3", "4", "5"} {
		t.Run("seed"+seed, func(t *testing.T) {
			url, token := startServer(t)
			admin := user{t, url, token}
			var m sim.Manifest
			admin.jsonRaw(&m, "sim", "--url", url, "--seed", seed, "--malicious", "2")
			for _, img := range m.Images {
				var out obj
				admin.jsonCall(&out, "PUT", "/v1/images/"+img.ID+"/role", obj{"role": img.Role})
			}
			names := map[string]string{}
			trusted := 0
			for _, p := range m.Publishers {
				names[p.Name] = p.ProjectID
				if !p.Malicious && trusted < 9 {
					admin.ok("publisher", "trust", p.ProjectID)
					trusted++
				}
			}
			var built obj
			admin.json(&built, "baseline", "build")
			var rep struct {
				Flagged []string `json:"flagged"`
				Scored  int      `json:"scored"`
			}
			admin.json(&rep, "detect", "run")
			want, partial := map[string]bool{}, map[string]bool{}
			for _, p := range m.Publishers {
				if p.Malicious {
					want[p.ProjectID] = true
					partial[p.ProjectID] = p.Infected < 1
				}
			}
			var risk []struct {
				Subject   string  `json:"subject"`
				Score     float64 `json:"score"`
				Threshold float64 `json:"threshold"`
				State     string  `json:"state"`
			}
			admin.json(&risk, "publisher", "list", "--risk")
			for _, r := range risk {
				t.Logf("%s malicious=%v score %.2f threshold %.2f %s", r.Subject, want[r.Subject], r.Score, r.Threshold, r.State)
				if (r.State == "flagged") != want[r.Subject] && !partial[r.Subject] {
					t.Errorf("publisher %s (malicious %v) is %s", r.Subject, want[r.Subject], r.State)
				}
			}
			for _, pub := range rep.Flagged {
				var fleet []obj
				admin.json(&fleet, "publisher", "fleet", pub)
				if len(fleet) != 15 {
					t.Errorf("fleet of %s: %d instances, want 15", pub, len(fleet))
				}
			}
		})
	}
}

// jsonRaw runs a command whose output is JSON already.
func (u user) jsonRaw(out any, args ...string) {
	u.t.Helper()
	if err := json.Unmarshal([]byte(u.ok(args...)), out); err != nil {
		u.t.Fatalf("imgward %v: %v", args, err)
	}
}

// jsonCall calls the API directly, for what has no command.
func (u user) jsonCall(out any, method, path string, in any) {
	u.t.Helper()
	c := newClient(func(k string) string {
		switch k {
		case "IMGWARD_URL":
			return u.url
		case "IMGWARD_TOKEN":
			return u.token
		}
		return ""
	})
	if err := c.call(u.t.Context(), method, path, in, out); err != nil {
		u.t.Fatalf("%s %s: %v", method, path, err)
	}
}
