package api_test

import (
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"imgward/monitor"
)

// TestEventsListOnlyVisibleImages flags a publisher that has a public
// image, an image shared with project A only, and a private one, and
// checks that each project's publisher.flagged event, in GET /v1/events and
// in the webhook, lists only the images that project may see: B (which
// runs the public image) only the public one, A also the shared one, the
// publisher all three.
func TestEventsListOnlyVisibleImages(t *testing.T) {
	var hookMu sync.Mutex
	hooked := map[string][]string{} // project → images of its publisher.flagged event
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			ProjectID string `json:"project_id"`
			Kind      string
			Payload   struct{ Images []string }
		}
		json.NewDecoder(r.Body).Decode(&ev)
		if ev.Kind == "publisher.flagged" {
			hookMu.Lock()
			hooked[ev.ProjectID] = ev.Payload.Images
			hookMu.Unlock()
		}
	}))
	defer hook.Close()
	e := newDetectEnv(t, monitor.Config{Webhook: hook.URL})
	good1, good2, pub := e.tenant("good1"), e.tenant("good2"), e.tenant("pub")
	b, a := e.tenant("b"), e.tenant("a")
	col := e.collector()
	images, fleets := e.webFleets(b, b, []tenant{good1, good2, pub}, []int{15, 15, 8})
	public := images[pub.project]
	shared, private := e.ownImage(pub, "shared", "shared"), e.ownImage(pub, "private", "private")
	e.do("POST", "/v2/images/"+shared+"/members", pub.token, map[string]string{"member": a.project}, 200, nil)
	e.do("PUT", "/v2/images/"+shared+"/members/"+a.project, a.token, map[string]string{"status": "accepted"}, 200, nil)
	others := append(e.launchN(a, shared, 1), e.launchN(pub, private, 1)...)

	rng := rand.New(rand.NewPCG(11, 12))
	now := time.Now().Add(-time.Minute)
	var lines []string
	for p, ids := range fleets {
		for _, id := range ids {
			lines = append(lines, behaviour(rng, id, p == pub.project, now))
		}
	}
	for _, id := range others {
		lines = append(lines, behaviour(rng, id, true, now))
	}
	e.post(col, "", batch(lines...), 200)
	e.do("POST", "/v1/baselines/build", e.admin, nil, 200, nil)
	var run monitor.Report
	e.do("POST", "/v1/detect/run", e.admin, nil, 200, &run)
	if len(run.Flagged) != 1 || string(run.Flagged[0]) != pub.project {
		t.Fatalf("detect run: %+v, want pub flagged alone", run)
	}

	sorted := func(ids ...string) []string { return slices.Sorted(slices.Values(ids)) }
	want := map[string][]string{
		b.project:   {public},
		a.project:   sorted(public, shared),
		pub.project: sorted(public, shared, private),
	}
	var evs struct {
		Events []struct {
			ProjectID string `json:"project_id"`
			Kind      string
			Payload   struct{ Images []string }
		}
	}
	e.do("GET", "/v1/events", e.admin, nil, 200, &evs)
	got := map[string][]string{}
	for _, ev := range evs.Events {
		if ev.Kind == "publisher.flagged" {
			got[ev.ProjectID] = ev.Payload.Images
		}
	}
	for p, w := range want {
		if !slices.Equal(got[p], w) {
			t.Errorf("event of %s lists images %v, want %v", p, got[p], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("events went to %d projects, want %d", len(got), len(want))
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		hookMu.Lock()
		n, bs := len(hooked), hooked[b.project]
		hookMu.Unlock()
		if n == len(want) {
			if !slices.Equal(bs, want[b.project]) {
				t.Errorf("webhook: B's event lists %v, want %v", bs, want[b.project])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhook got %d flagged events, want %d", n, len(want))
		}
		waitABit()
	}
	// The cleared events follow the same rule.
	e.do("POST", "/v1/publishers/"+pub.project+"/clear", e.admin, nil, 200, nil)
	e.do("GET", "/v1/events", b.token, nil, 200, &evs)
	for _, ev := range evs.Events {
		if !slices.Equal(ev.Payload.Images, want[b.project]) {
			t.Errorf("B's %s event lists %v, want %v", ev.Kind, ev.Payload.Images, want[b.project])
		}
	}
	if len(evs.Events) != 2 {
		t.Errorf("B has %d events, want flagged and cleared", len(evs.Events))
	}
}

// ownImage creates an active image of the tenant with a visibility it may
// set itself (private or shared), of role web.
func (e *env) ownImage(owner tenant, name, visibility string) string {
	e.t.Helper()
	var img struct{ ID string }
	e.do("POST", "/v2/images", owner.token, map[string]any{"name": name, "disk_format": "raw", "container_format": "bare",
		"visibility": visibility}, 201, &img)
	resp := e.raw("PUT", "/v2/images/"+img.ID+"/file", owner.token, "application/octet-stream", strings.NewReader("disk"))
	resp.Body.Close()
	e.do("PUT", "/v1/images/"+img.ID+"/role", e.admin, map[string]string{"role": "web"}, 200, nil)
	return img.ID
}
