package api_test

import (
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"imgward"
	"imgward/monitor"
)

type verdictOut struct {
	Subject      string  `json:"subject"`
	Score        float64 `json:"score"`
	Threshold    float64 `json:"threshold"`
	Uncapped     float64 `json:"uncapped"`
	ClearedScore float64 `json:"cleared_score"`
	State        string  `json:"state"`
}

// TestDetection runs the whole loop over HTTP: two trusted publishers teach
// the baseline of role "web"; a benign and a malicious untrusted publisher
// are judged; the malicious one is flagged, its image quarantined (no
// launch, hidden from lists), its fleet listed, the affected project told
// (events and a webhook); clearing lifts the quarantine.
func TestDetection(t *testing.T) {
	var hookMu sync.Mutex
	var hooked []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct{ Kind string }
		json.NewDecoder(r.Body).Decode(&ev)
		hookMu.Lock()
		hooked = append(hooked, ev.Kind)
		hookMu.Unlock()
	}))
	defer hook.Close()
	e := newDetectEnv(t, monitor.Config{Webhook: hook.URL})
	good1, good2, benign, bad := e.tenant("good1"), e.tenant("good2"), e.tenant("benign"), e.tenant("bad")
	user, user2 := e.tenant("user"), e.tenant("user2")
	col := e.collector()
	images, fleets := e.webFleets(user, user2, []tenant{good1, good2, benign, bad}, []int{15, 15, 8, 8})

	rng := rand.New(rand.NewPCG(1, 2))
	var lines []string
	now := time.Now().Add(-time.Minute)
	for pub, ids := range fleets {
		for _, id := range ids {
			lines = append(lines, behaviour(rng, id, pub == bad.project, now))
		}
	}
	e.post(col, "", batch(lines...), 200)

	// The unified state folds every instance of the image.
	var st struct {
		Instances int
		Numeric   []struct {
			Name     string
			Strategy string
			Value    float64
		}
		Sets []struct{ Name, Dominant string }
	}
	e.do("GET", "/v1/images/"+images[bad.project]+"/state", bad.token, nil, 200, &st)
	if st.Instances != 8 || len(st.Numeric) != 4 || st.Numeric[0].Strategy != "mean" || len(st.Sets) != 2 {
		t.Errorf("image state = %+v", st)
	}
	e.do("GET", "/v1/publishers/"+good1.project+"/state", e.admin, nil, 200, &st)
	if st.Instances != 15 {
		t.Errorf("publisher state: %d instances, want 15", st.Instances)
	}

	var built struct {
		Built []struct {
			Role string
			Rows int
		}
	}
	e.do("POST", "/v1/baselines/build", e.admin, nil, 200, &built)
	if len(built.Built) != 1 || built.Built[0].Role != "web" || built.Built[0].Rows != 30 {
		t.Fatalf("baselines built: %+v", built)
	}
	var run monitor.Report
	e.do("POST", "/v1/detect/run", e.admin, nil, 200, &run)
	if run.Scored != 46 || len(run.Flagged) != 1 || run.Flagged[0] != imgward.ProjectID(bad.project) {
		t.Fatalf("detect run: %+v, want bad flagged alone", run)
	}

	// Quarantine: no launch, hidden from others' lists, visible to its owner.
	var errBody struct{ Error struct{ Message string } }
	e.do("POST", "/v1/instances", user.token, map[string]string{"image_id": images[bad.project]}, 403, &errBody)
	if errBody.Error.Message != "image quarantined: publisher flagged" {
		t.Errorf("launch of a quarantined image: %q", errBody.Error.Message)
	}
	if listed(e, user.token, images[bad.project]) || !listed(e, bad.token, images[bad.project]) || !listed(e, user.token, images[benign.project]) {
		t.Error("a quarantined image is listed to others, or hidden from its owner, or a benign image is hidden")
	}
	// A new image of the flagged publisher is quarantined too.
	fresh := e.publicImage(bad, "fresh")
	e.do("POST", "/v1/instances", user.token, map[string]string{"image_id": fresh}, 403, &errBody)
	if listed(e, user.token, fresh) {
		t.Error("a flagged publisher's new image is listed to others")
	}
	var fleet struct {
		Instances []instanceJSON
		Verdict   verdictOut
	}
	e.do("GET", "/v1/publishers/"+bad.project+"/fleet", e.admin, nil, 200, &fleet)
	if len(fleet.Instances) != 8 || fleet.Verdict.State != "flagged" {
		t.Errorf("fleet: %d instances, verdict %+v", len(fleet.Instances), fleet.Verdict)
	}
	var risk struct{ Publishers []verdictOut }
	e.do("GET", "/v1/publishers?risk=1", e.admin, nil, 200, &risk)
	if len(risk.Publishers) != 4 || risk.Publishers[0].Subject != bad.project {
		t.Errorf("risk ranking: %+v", risk.Publishers)
	}
	for _, v := range risk.Publishers[1:] {
		if v.State != "ok" {
			t.Errorf("benign publisher %s is %s (score %.2f > %.2f)", v.Subject, v.State, v.Score, v.Threshold)
		}
	}
	var evs struct {
		Events []struct {
			ProjectID string `json:"project_id"`
			Kind      string
			Payload   struct{ Instances []string }
		}
	}
	e.do("GET", "/v1/events", user2.token, nil, 200, &evs)
	if len(evs.Events) != 1 || evs.Events[0].Kind != "publisher.flagged" || len(evs.Events[0].Payload.Instances) != 2 {
		t.Errorf("user2's events: %+v", evs.Events)
	}
	e.do("GET", "/v1/events", e.admin, nil, 200, &evs)
	if len(evs.Events) != 2 {
		t.Errorf("admin sees %d events, want 2", len(evs.Events))
	}

	var cleared verdictOut
	e.do("POST", "/v1/publishers/"+bad.project+"/clear", e.admin, nil, 200, &cleared)
	if cleared.State != "cleared" {
		t.Errorf("cleared verdict: %+v", cleared)
	}
	e.do("POST", "/v1/publishers/"+bad.project+"/clear", e.admin, nil, 409, nil)
	e.launchN(user, images[bad.project], 1)
	e.do("POST", "/v1/detect/run", e.admin, nil, 200, &run)
	if len(run.Flagged) != 0 {
		t.Errorf("a cleared publisher was flagged again for the same behaviour: %+v", run)
	}
	// A terminated instance leaves the unified state at the next run.
	e.do("DELETE", "/v1/instances/"+fleets[benign.project][0], user.token, nil, 200, nil)
	e.do("POST", "/v1/detect/run", e.admin, nil, 200, &run)
	e.do("GET", "/v1/images/"+images[benign.project]+"/state", e.admin, nil, 200, &st)
	if st.Instances != 7 {
		t.Errorf("after a termination and a run the image state holds %d instances, want 7", st.Instances)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		hookMu.Lock()
		n := len(hooked)
		hookMu.Unlock()
		if n >= 4 || time.Now().After(deadline) { // 2 flagged, 2 cleared
			if n < 4 {
				t.Errorf("webhook got %d events, want 4", n)
			}
			break
		}
		waitABit()
	}
}

// webFleets publishes a public image of role web for each publisher, and
// launches n[i] instances of publishers[i]'s, two of them by user2 and the
// rest by user. The first two publishers are trusted. It returns each
// publisher's image and instances.
func (e *env) webFleets(user, user2 tenant, publishers []tenant, n []int) (images map[string]string, fleets map[string][]string) {
	e.t.Helper()
	images, fleets = map[string]string{}, map[string][]string{}
	for i, pub := range publishers {
		img := e.publicImage(pub, pub.project)
		images[pub.project] = img
		e.do("PUT", "/v1/images/"+img+"/role", e.admin, map[string]string{"role": "web"}, 200, nil)
		fleets[pub.project] = append(e.launchN(user, img, n[i]-2), e.launchN(user2, img, 2)...)
	}
	for _, pub := range publishers[:2] {
		e.do("PUT", "/v1/publishers/"+pub.project+"/trust", e.admin, map[string]bool{"trusted": true}, 200, nil)
	}
	return images, fleets
}

// TestDetectionSyscalls checks that the service scores the order of the
// system calls in snapshots: a publisher whose instances look normal in
// every other respect, and make no call that the baseline's do not, but
// read files and send them out, is flagged alone, and the explanation
// names the system-call features.
func TestDetectionSyscalls(t *testing.T) {
	e := newDetectEnv(t, monitor.Config{})
	good1, good2, benign, bad := e.tenant("good1"), e.tenant("good2"), e.tenant("benign"), e.tenant("bad")
	user, user2 := e.tenant("user"), e.tenant("user2")
	col := e.collector()
	_, fleets := e.webFleets(user, user2, []tenant{good1, good2, benign, bad}, []int{15, 15, 8, 8})
	rng := rand.New(rand.NewPCG(3, 4))
	var lines []string
	now := time.Now().Add(-time.Minute)
	// In a fixed order, so that every run draws the same traces.
	for _, pub := range []tenant{good1, good2, benign, bad} {
		for _, id := range fleets[pub.project] {
			lines = append(lines, syscallBehaviour(rng, id, pub == bad, now))
		}
	}
	e.post(col, "", batch(lines...), 200)
	e.do("POST", "/v1/baselines/build", e.admin, nil, 200, nil)
	var run monitor.Report
	e.do("POST", "/v1/detect/run", e.admin, nil, 200, &run)
	if run.Scored != 46 || len(run.Flagged) != 1 || run.Flagged[0] != imgward.ProjectID(bad.project) {
		t.Fatalf("detect run: %+v, want bad flagged alone", run)
	}
	var fleet struct {
		Verdict struct{ Explanation []struct{ Feature string } }
	}
	e.do("GET", "/v1/publishers/"+bad.project+"/fleet", e.admin, nil, 200, &fleet)
	if ex := fleet.Verdict.Explanation; len(ex) == 0 || !strings.HasPrefix(ex[0].Feature, "syscalls.") {
		t.Errorf("explanation of the exfiltrating publisher: %+v, want system-call features first", ex)
	}
}

func listed(e *env, token, image string) bool {
	var out struct{ Images []struct{ ID string } }
	e.do("GET", "/v2/images", token, nil, 200, &out)
	for _, img := range out.Images {
		if img.ID == image {
			return true
		}
	}
	return false
}

// TestDetectionPermissions checks the role rules and 4xx bodies of every
// detection endpoint.
func TestDetectionPermissions(t *testing.T) {
	e := newDetectEnv(t, monitor.Config{})
	alice, bob := e.tenant("alice"), e.tenant("bob")
	col := e.collector()
	img := e.publicImage(alice, "a")
	tests := []struct {
		method, path, token string
		body                any
		want                int
		msg                 string
	}{
		{"GET", "/v1/images/" + img + "/state", bob.token, nil, 403, "owner or an admin"},
		{"GET", "/v1/images/" + img + "/state", alice.token, nil, 200, ""},
		{"GET", "/v1/images/00000000-0000-4000-8000-000000000000/state", e.admin, nil, 404, "no such image"},
		{"GET", "/v1/publishers/" + alice.project + "/state", bob.token, nil, 403, "publisher or an admin"},
		{"GET", "/v1/publishers/" + alice.project + "/state", alice.token, nil, 200, ""},
		{"GET", "/v1/publishers/" + strings.Repeat("0", 32) + "/state", e.admin, nil, 404, "no such project"},
		{"PUT", "/v1/publishers/" + alice.project + "/trust", alice.token, map[string]bool{"trusted": true}, 403, "admin role"},
		{"PUT", "/v1/publishers/" + alice.project + "/trust", e.admin, map[string]any{}, 400, `"trusted"`},
		{"PUT", "/v1/publishers/" + strings.Repeat("0", 32) + "/trust", e.admin, map[string]bool{"trusted": true}, 404, "no such project"},
		{"PUT", "/v1/images/" + img + "/role", alice.token, map[string]string{"role": "web"}, 403, "admin role"},
		{"PUT", "/v1/images/" + img + "/role", e.admin, map[string]string{"role": strings.Repeat("r", 65)}, 400, "64 printable"},
		{"PUT", "/v1/images/" + img + "/role", e.admin, map[string]string{"role": "web"}, 200, ""},
		{"POST", "/v1/baselines/build", alice.token, nil, 403, "admin role"},
		{"GET", "/v1/baselines", alice.token, nil, 403, "admin role"},
		{"GET", "/v1/baselines", e.admin, nil, 200, ""},
		{"POST", "/v1/detect/run", alice.token, nil, 403, "admin role"},
		{"GET", "/v1/publishers/" + alice.project + "/fleet", alice.token, nil, 403, "admin role"},
		{"POST", "/v1/publishers/" + alice.project + "/clear", alice.token, nil, 403, "admin role"},
		{"POST", "/v1/publishers/" + alice.project + "/clear", e.admin, nil, 409, "not flagged"},
		{"GET", "/v1/publishers?risk=1", alice.token, nil, 403, "admin role"},
		{"GET", "/v1/publishers", e.admin, nil, 400, "risk=1"},
		{"GET", "/v1/events?after=-1", alice.token, nil, 400, "after"},
		{"GET", "/v1/events", "", nil, 401, ""},
		{"GET", "/v1/projects", col, nil, 403, "collector may only post snapshots"},
		{"GET", "/v1/whoami", col, nil, 200, ""},
	}
	for _, tt := range tests {
		var out struct{ Error struct{ Message string } }
		e.do(tt.method, tt.path, tt.token, tt.body, tt.want, &out)
		if !strings.Contains(out.Error.Message, tt.msg) {
			t.Errorf("%s %s: message %q, want %q", tt.method, tt.path, out.Error.Message, tt.msg)
		}
	}
}
