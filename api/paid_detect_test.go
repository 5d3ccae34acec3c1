package api_test

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"imgward/monitor"
)

// TestFlaggedSeller flags a publisher that sells an image: its offer shows
// suspended and takes no new subscription, and a buyer that subscribed but
// runs nothing gets the publisher.flagged event, listing the offered image
// (which every project sees) and not the seller's private one.
func TestFlaggedSeller(t *testing.T) {
	e := newDetectEnv(t, monitor.Config{})
	good1, good2, pub := e.tenant("good1"), e.tenant("good2"), e.tenant("pub")
	b, buyer, late := e.tenant("b"), e.tenant("buyer"), e.tenant("late")
	col := e.collector()
	_, fleets := e.webFleets(b, b, []tenant{good1, good2, pub}, []int{15, 15, 8})
	paid, private := e.ownImage(pub, "paid", "private"), e.ownImage(pub, "private", "private")
	var offer struct{ ID, State string }
	e.do("POST", "/v1/offers", pub.token, map[string]any{"image_id": paid, "title": "paid",
		"price": map[string]string{"amount": "1", "currency": "EUR", "per": "month"}}, 201, &offer)
	e.do("POST", "/v1/offers/"+offer.ID+"/subscriptions", buyer.token, nil, 201, nil)

	rng := rand.New(rand.NewPCG(21, 22))
	now := time.Now().Add(-time.Minute)
	var lines []string
	for p, ids := range fleets {
		for _, id := range ids {
			lines = append(lines, behaviour(rng, id, p == pub.project, now))
		}
	}
	e.post(col, "", batch(lines...), 200)
	e.do("POST", "/v1/baselines/build", e.admin, nil, 200, nil)
	var run monitor.Report
	e.do("POST", "/v1/detect/run", e.admin, nil, 200, &run)
	if len(run.Flagged) != 1 || string(run.Flagged[0]) != pub.project {
		t.Fatalf("detect run: %+v, want pub flagged alone", run)
	}

	var evs struct {
		Events []struct {
			Kind    string
			Payload struct{ Images []string }
		}
	}
	e.do("GET", "/v1/events", buyer.token, nil, 200, &evs)
	if len(evs.Events) != 1 || evs.Events[0].Kind != "publisher.flagged" {
		t.Fatalf("buyer's events: %+v, want one publisher.flagged", evs.Events)
	}
	if imgs := evs.Events[0].Payload.Images; !slices.Contains(imgs, paid) || slices.Contains(imgs, private) {
		t.Errorf("buyer's event lists %v: want the offered image %s, not the private %s", imgs, paid, private)
	}
	e.do("GET", "/v1/offers/"+offer.ID, late.token, nil, 200, &offer)
	if offer.State != "suspended" {
		t.Errorf("the flagged seller's offer is %q, want suspended", offer.State)
	}
	e.do("POST", "/v1/offers/"+offer.ID+"/subscriptions", late.token, nil, 409, nil)

	// Cleared, the seller sells again.
	e.do("POST", "/v1/publishers/"+pub.project+"/clear", e.admin, nil, 200, nil)
	e.do("POST", "/v1/offers/"+offer.ID+"/subscriptions", late.token, nil, 201, nil)
}
