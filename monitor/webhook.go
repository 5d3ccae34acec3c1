package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"imgward"
)

// webhookQueue bounds the events waiting to be sent: a slow or dead
// receiver costs at most this much memory and never blocks a detection run
// or ingest. Events over it are dropped, with a log line; they stay in the
// Store and GET /v1/events.
const webhookQueue = 1024

// webhook posts events to one URL from a goroutine of its own, with a
// timeout per attempt and retries with exponential backoff.
type webhook struct {
	url     string
	client  *http.Client
	retries int
	log     *slog.Logger
	q       chan imgward.Event
	ctx     context.Context
	stop    context.CancelFunc
	wg      sync.WaitGroup
}

func newWebhook(url string, timeout time.Duration, retries int, log *slog.Logger) *webhook {
	ctx, stop := context.WithCancel(context.Background())
	h := &webhook{url: url, client: &http.Client{Timeout: timeout}, retries: retries, log: log,
		q: make(chan imgward.Event, webhookQueue), ctx: ctx, stop: stop}
	h.wg.Add(1)
	go h.loop()
	return h
}

// send queues e, or drops it when the queue is full.
func (h *webhook) send(e imgward.Event) {
	select {
	case h.q <- e:
	default:
		h.log.Warn("webhook queue full; event dropped", "event", e.ID)
	}
}

func (h *webhook) close() {
	h.stop()
	h.wg.Wait()
}

func (h *webhook) loop() {
	defer h.wg.Done()
	for {
		select {
		case <-h.ctx.Done():
			return
		case e := <-h.q:
			h.deliver(e)
		}
	}
}

// deliver posts e until a 2xx answer or the retries run out.
func (h *webhook) deliver(e imgward.Event) {
	body, _ := json.Marshal(ToEventJSON(e))
	backoff := 500 * time.Millisecond
	for attempt := 0; attempt <= h.retries; attempt++ {
		if attempt > 0 {
			select {
			case <-h.ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff *= 2
		}
		req, err := http.NewRequestWithContext(h.ctx, "POST", h.url, bytes.NewReader(body))
		if err != nil {
			h.log.Error("webhook request", "err", err)
			return
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := h.client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode/100 == 2 {
				return
			}
		}
		h.log.Warn("webhook delivery failed", "event", e.ID, "attempt", attempt+1, "err", err)
	}
	h.log.Error("webhook gave up", "event", e.ID)
}

// EventJSON is the JSON form of an event, in GET /v1/events and webhooks.
type EventJSON struct {
	ID        int64           `json:"id"`
	ProjectID string          `json:"project_id"`
	Kind      string          `json:"kind"`
	Payload   json.RawMessage `json:"payload"`
	CreatedAt string          `json:"created_at"`
}

// ToEventJSON returns the JSON form of an event.
func ToEventJSON(e imgward.Event) EventJSON {
	return EventJSON{ID: e.ID, ProjectID: string(e.ProjectID), Kind: e.Kind, Payload: e.Payload,
		CreatedAt: e.CreatedAt.UTC().Format(time.RFC3339Nano)}
}
