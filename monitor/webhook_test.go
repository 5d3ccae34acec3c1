package monitor

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"imgward"
)

// TestWebhookRetries checks that a failed delivery is retried, that a slow
// receiver is cut off by the timeout, and that send never blocks.
func TestWebhookRetries(t *testing.T) {
	var calls atomic.Int32
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1:
			w.WriteHeader(500)
		case 2:
			time.Sleep(300 * time.Millisecond) // over the timeout
		default:
			close(done)
		}
	}))
	defer srv.Close()
	h := newWebhook(srv.URL, 100*time.Millisecond, 3, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer h.close()
	start := time.Now()
	for range webhookQueue + 10 { // more than the queue: the rest are dropped, not waited for
		h.send(imgward.Event{ID: 1, Kind: "publisher.flagged", Payload: []byte(`{}`)})
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("send blocked for %v", d)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("no successful delivery after %d calls", calls.Load())
	}
}
