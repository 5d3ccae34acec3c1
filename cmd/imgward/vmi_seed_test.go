package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"imgward/introspect/vmi/vmitest"
)

// testVMISeed is the seed's scenario end to end, on real guests read
// through their memory: two trusted publishers' web images run 5
// instances each; a third publisher's web image runs 5 instances, 3 of
// them with the backdoor (a shell on port 31337, a process dressed as a
// kernel thread). collect vmi --mem posts a snapshot of each instance to
// a real server; the baseline learns from the trusted publishers; detect
// run flags the third publisher, with its fleet, and no trusted one.
//
// The trusted instances run on the 5 benign guests, two instances a
// guest (the test boots 8 guests, not 15, to keep make test short); each
// of the third publisher's instances has a guest of its own.
func testVMISeed(t *testing.T, web, bad []*vmitest.Guest) {
	url, token := startServer(t)
	admin := user{t, url, token}
	disk := filepath.Join(t.TempDir(), "web.qcow2")
	if err := os.WriteFile(disk, []byte("a web image"), 0o600); err != nil {
		t.Fatal(err)
	}
	// publish creates a publisher with one web image and launches an
	// instance of it on each guest.
	publish := func(name string, guests []*vmitest.Guest) (project string, insts map[string]*vmitest.Guest) {
		var p, u, img obj
		admin.json(&p, "project", "create", name)
		project = p["id"].(string)
		admin.json(&u, "user", "create", name+"-owner", "--project", project)
		owner := user{t, url, u["token"].(string)}
		owner.json(&img, "image", "create", name+"-web")
		id := img["id"].(string)
		owner.ok("image", "upload", id, disk)
		admin.ok("image", "role", id, "web")
		insts = map[string]*vmitest.Guest{}
		for i, g := range guests {
			inst := strings.TrimSpace(owner.ok("instance", "launch", id, "--host", "hv"+string(rune('1'+i%3))))
			insts[inst] = g
		}
		return project, insts
	}
	trustedA, instA := publish("alpha", append(web[:], web...)[:5])
	trustedB, instB := publish("beta", append(web[:], web...)[5:10])
	evil, instE := publish("gamma", []*vmitest.Guest{bad[0], bad[1], bad[2], web[0], web[1]})
	admin.ok("publisher", "trust", trustedA)
	admin.ok("publisher", "trust", trustedB)

	for _, insts := range []map[string]*vmitest.Guest{instA, instB, instE} {
		for inst, g := range insts {
			admin.ok(append([]string{"collect", "vmi", "--instance", inst, "--once"}, guestArgs(g)...)...)
		}
	}
	var built obj
	admin.json(&built, "baseline", "build")
	var rep struct {
		Flagged []string `json:"flagged"`
		Scored  int      `json:"scored"`
	}
	admin.json(&rep, "detect", "run")
	if rep.Scored != 15 || len(rep.Flagged) != 1 || rep.Flagged[0] != evil {
		t.Errorf("detect run: scored %d, flagged %v; want 15 and only %s (trusted: %s, %s)", rep.Scored, rep.Flagged, evil, trustedA, trustedB)
	}
	var risk []struct {
		Subject     string  `json:"subject"`
		Score       float64 `json:"score"`
		Threshold   float64 `json:"threshold"`
		State       string  `json:"state"`
		Explanation []obj   `json:"explanation"`
	}
	admin.json(&risk, "publisher", "list", "--risk")
	for _, r := range risk {
		t.Logf("publisher %s: score %.2f threshold %.2f %s; %v", r.Subject, r.Score, r.Threshold, r.State, r.Explanation)
		if (r.State == "flagged") != (r.Subject == evil) {
			t.Errorf("publisher %s is %s", r.Subject, r.State)
		}
	}
	var fleet []obj
	admin.json(&fleet, "publisher", "fleet", evil)
	if len(fleet) != 5 {
		t.Errorf("the fleet of %s: %d instances, want 5", evil, len(fleet))
	}
	for _, f := range fleet {
		if _, ok := instE[f["id"].(string)]; !ok {
			t.Errorf("the fleet of %s lists %v, not one of its instances", evil, f)
		}
	}
}
