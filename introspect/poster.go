// Package introspect holds the collectors, the sources of snapshots
// (package snapshot): procfs (a process tree or cgroup seen from the host),
// vmi (a QEMU VM from the hypervisor's side), sim (a seeded cloud) and
// dataset (replay of labelled tables), and the Poster that sends their
// snapshots to POST /v1/snapshots in batches.
package introspect

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"imgward/errors"
	"imgward/snapshot"
)

// Poster sends snapshots to POST /v1/snapshots in NDJSON batches of at most
// snapshot.MaxBatchLines lines and snapshot.MaxBatchBytes bytes. Each batch carries an
// Idempotency-Key, the same on every retry of it, so that a batch the
// server stored but whose answer was lost is not counted twice.
//
// A 5xx answer, a 429 or a failure to connect is retried with exponential
// backoff; any other 4xx is final, since sending the same bytes again
// cannot succeed, and is reported with the server's message.
type Poster struct {
	URL    string       // the server's base URL, such as http://127.0.0.1:7480
	Token  string       // sent as X-Auth-Token: a collector's or an admin's
	Client *http.Client // nil means a client that follows no redirects
	// Attempts is how many times a batch is tried; 0 means 6.
	Attempts int
	// Backoff is the first wait between attempts, doubled each time up to
	// 30 s; 0 means 250 ms.
	Backoff time.Duration
}

// maxAnswer bounds the server's answer that is read.
const maxAnswer = 64 << 10

// Post validates and sends snaps, batching them, and returns how many the
// server accepted. It stops at the first batch that fails: batches before it
// are stored, it and those after are not.
func (p *Poster) Post(ctx context.Context, snaps []snapshot.Snapshot) (int, error) {
	var body bytes.Buffer
	lines, accepted := 0, 0
	flush := func() error {
		if lines == 0 {
			return nil
		}
		n, err := p.PostBatch(ctx, body.Bytes())
		accepted += n
		body.Reset()
		lines = 0
		return err
	}
	for i := range snaps {
		line, err := snapshot.Marshal(&snaps[i])
		if err != nil {
			return accepted, err
		}
		line = append(line, '\n')
		if lines == snapshot.MaxBatchLines || body.Len()+len(line) > snapshot.MaxBatchBytes {
			if err := flush(); err != nil {
				return accepted, err
			}
		}
		body.Write(line)
		lines++
	}
	return accepted, flush()
}

// PostBatch sends one NDJSON batch, retrying as the Poster says, and returns
// the server's count of accepted snapshots.
func (p *Poster) PostBatch(ctx context.Context, ndjson []byte) (int, error) {
	const op = "introspect.Post"
	key, err := newKey()
	if err != nil {
		return 0, errors.E(op, errors.Internal, err)
	}
	attempts, wait := p.Attempts, p.Backoff
	if attempts <= 0 {
		attempts = 6
	}
	if wait <= 0 {
		wait = 250 * time.Millisecond
	}
	var last error
	for try := 0; try < attempts; try++ {
		if try > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return 0, errors.E(op, errors.Unavailable, errors.Errorf("%w; last error: %v", ctx.Err(), last))
			case <-t.C:
			}
			wait = min(2*wait, 30*time.Second)
		}
		n, retry, err := p.send(ctx, ndjson, key)
		if err == nil || !retry {
			return n, err
		}
		last = err
	}
	return 0, errors.E(op, errors.Unavailable, errors.Errorf("gave up after %d attempts: %w", attempts, last))
}

// send makes one attempt; retry says whether another may succeed.
func (p *Poster) send(ctx context.Context, ndjson []byte, key string) (n int, retry bool, err error) {
	const op = "introspect.Post"
	req, err := http.NewRequestWithContext(ctx, "POST", strings.TrimSuffix(p.URL, "/")+"/v1/snapshots", bytes.NewReader(ndjson))
	if err != nil {
		return 0, false, errors.E(op, errors.Invalid, errors.Msg("bad server URL "+p.URL), err)
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Idempotency-Key", key)
	if p.Token != "" {
		req.Header.Set("X-Auth-Token", p.Token)
	}
	resp, err := p.client().Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, false, errors.E(op, errors.Unavailable, ctx.Err())
		}
		return 0, true, err // classified by PostBatch when it gives up
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	switch {
	case resp.StatusCode == http.StatusOK:
		var ok struct {
			Accepted *int `json:"accepted"`
		}
		if json.Unmarshal(b, &ok) != nil || ok.Accepted == nil {
			return 0, false, errors.E(op, errors.Internal, errors.Errorf("bad answer from the server: %.200q", b))
		}
		return *ok.Accepted, false, nil
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return 0, true, errors.Errorf("server answered %s", resp.Status)
	}
	return 0, false, errors.E(op, statusKind(resp.StatusCode),
		errors.Msg(errors.Errorf("server refused the batch: %s: %s", resp.Status, message(b)).Error()))
}

func (p *Poster) client() *http.Client {
	if p.Client != nil {
		return p.Client
	}
	// Redirects are not followed: net/http would forward the token.
	return &http.Client{
		Timeout:       2 * time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// message is the server's error message from a JSON error body, or the
// body itself, bounded.
func message(b []byte) string {
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &e) == nil && e.Error.Message != "" {
		return e.Error.Message
	}
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

func statusKind(code int) errors.Kind {
	switch code {
	case http.StatusUnauthorized:
		return errors.Unauthenticated
	case http.StatusForbidden:
		return errors.Permission
	case http.StatusNotFound:
		return errors.NotExist
	case http.StatusConflict:
		return errors.Conflict
	case http.StatusRequestEntityTooLarge:
		return errors.TooLarge
	}
	return errors.Invalid
}

func newKey() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}
