package evaluate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"imgward"
	"imgward/server"
	"imgward/snapshot"
)

// TestServedBaselineScoresAsEval pins that imgward eval measures what the
// service does: the rows of a table, replayed as snapshots into a real
// server (over HTTP), its normal training rows on a trusted publisher's
// instances and the rest on another's, give each instance the surprise
// that Score gives its row, bit for bit, once the server has built the
// role's baseline and run detection.
func TestServedBaselineScoresAsEval(t *testing.T) {
	file, isTrain := servedTable(t)
	o := Options{Train: file, Test: file, LabelCol: "kind", Normal: "ok", Where: []Where{{"set", "train"}},
		SequenceCol: "trace"}
	want, err := Score(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}

	s := newServed(t)
	trusted, other := s.tenant("trusted"), s.tenant("other")
	var nTrain int
	for _, tr := range isTrain {
		if tr {
			nTrain++
		}
	}
	// The service orders a baseline's rows by instance id, so the training
	// rows go to the trusted instances in the order of their ids.
	trainIDs := s.instances(trusted, "web", nTrain)
	slices.Sort(trainIDs)
	otherIDs := s.instances(other, "web", len(isTrain)-nTrain)
	ids := make([]string, len(isTrain))
	for i, tr := range isTrain {
		if tr {
			ids[i], trainIDs = trainIDs[0], trainIDs[1:]
		} else {
			ids[i], otherIDs = otherIDs[0], otherIDs[1:]
		}
	}
	s.call("PUT", "/v1/publishers/"+trusted.project+"/trust", map[string]bool{"trusted": true}, nil)
	s.post(t, o, ids)
	var built struct{ Built []struct{ Rows int } }
	s.call("POST", "/v1/baselines/build", nil, &built)
	if len(built.Built) != 1 || built.Built[0].Rows != want.NTrain {
		t.Fatalf("baselines built: %+v, want one of %d rows", built, want.NTrain)
	}
	s.call("POST", "/v1/detect/run", nil, nil)

	for i, id := range ids {
		var v *imgward.Verdict
		err := s.svc.Store.View(context.Background(), func(tx imgward.Tx) error {
			var err error
			v, err = tx.Verdict(context.Background(), imgward.VerdictInstance, id)
			return err
		})
		if err != nil {
			t.Fatalf("row %d, instance %s: %v", i, id, err)
		}
		// Equal as numbers: the store keeps -0 (p = 1) as 0.
		if v.Score != want.Surprise[i] {
			t.Errorf("row %d: the service's surprise %v, eval's %v", i, v.Score, want.Surprise[i])
		}
	}
	// The rows tell normal from anomalous, so equal surprises are no
	// accident of a constant score.
	if m, err := metrics(want.Surprise, want.Anomaly); err != nil || m.AUC < 0.9 {
		t.Errorf("eval's surprises separate the rows with AUC %v, %v", m.AUC, err)
	}
}

// servedTable writes a table of normal rows and anomalous ones, with a
// trace column and a set column that marks the training rows, and returns
// its name and which rows are training rows.
func servedTable(t *testing.T) (string, []bool) {
	rng := rand.New(rand.NewPCG(5, 6))
	var b strings.Builder
	b.WriteString("x,y,kind,set,trace\n")
	var isTrain []bool
	for i := range 90 {
		kind, shift, set := "ok", 0.0, "train"
		if i%3 == 2 {
			set = "test"
		}
		calls := []int{5, 3, 3, 4, 6}
		if i%3 == 2 && i%2 == 0 {
			kind, shift, calls = "bad", 3, []int{5, 41, 42, 44, 6}
		}
		var tr []string
		for range 10 + rng.IntN(10) {
			for _, c := range calls[:2+rng.IntN(len(calls)-1)] {
				tr = append(tr, fmt.Sprint(c))
			}
		}
		fmt.Fprintf(&b, "%.4f,%.4f,%s,%s,%s\n", shift+rng.NormFloat64(), 10+shift+rng.NormFloat64(), kind, set, strings.Join(tr, " "))
		isTrain = append(isTrain, kind == "ok" && set == "train")
	}
	name := filepath.Join(t.TempDir(), "served.csv")
	if err := os.WriteFile(name, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return name, isTrain
}

// served is an imgward server over HTTP, with its admin's token.
type served struct {
	t     *testing.T
	url   string
	admin string
	svc   *server.Service
}

func newServed(t *testing.T) *served {
	svc, err := server.Open(context.Background(), server.Config{DataDir: t.TempDir(), Store: "sqlite",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(svc.Handler)
	t.Cleanup(func() { ts.Close(); svc.Close() })
	return &served{t: t, url: ts.URL, admin: svc.AdminToken, svc: svc}
}

type servedTenant struct{ project, token string }

// tenant creates a project and a member user in it.
func (s *served) tenant(name string) servedTenant {
	var p struct{ ID string }
	s.callAs(s.admin, "POST", "/v1/projects", map[string]string{"name": name}, &p)
	var u struct{ Token string }
	s.callAs(s.admin, "POST", "/v1/users", map[string]string{"name": name + "-user", "project_id": p.ID}, &u)
	return servedTenant{p.ID, u.Token}
}

// instances creates an active image of role name for the tenant and
// launches n instances of it.
func (s *served) instances(by servedTenant, role string, n int) []string {
	var img struct{ ID string }
	s.callAs(by.token, "POST", "/v2/images", map[string]string{"name": role, "disk_format": "raw", "container_format": "bare"}, &img)
	s.send(by.token, "PUT", "/v2/images/"+img.ID+"/file", "application/octet-stream", strings.NewReader("disk"), nil)
	s.call("PUT", "/v1/images/"+img.ID+"/role", map[string]string{"role": role}, nil)
	ids := make([]string, n)
	for i := range ids {
		var in struct{ ID string }
		s.callAs(by.token, "POST", "/v1/instances", map[string]string{"image_id": img.ID}, &in)
		ids[i] = in.ID
	}
	return ids
}

// post replays the rows of o's table as snapshots of the instances ids
// (row i is ids[i]), as eval replays them, and posts them as the admin.
func (s *served) post(t *testing.T, o Options, ids []string) {
	tab, err := readTable(o.Test)
	if err != nil {
		t.Fatal(err)
	}
	r := o.replay()
	r.Instances, r.Start = ids, time.Now().Add(-time.Minute)
	snaps, err := r.Snapshots(tab)
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	enc := snapshot.NewEncoder(&body)
	for i := range snaps {
		if err := enc.Encode(&snaps[i]); err != nil {
			t.Fatal(err)
		}
	}
	s.send(s.admin, "POST", "/v1/snapshots", "application/x-ndjson", &body, nil)
}

// call sends a JSON request as the admin.
func (s *served) call(method, path string, body, out any) { s.callAs(s.admin, method, path, body, out) }

func (s *served) callAs(token, method, path string, body, out any) {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	s.send(token, method, path, "application/json", r, out)
}

// send sends a request and fails the test unless it succeeds; out, if not
// nil, receives the decoded answer.
func (s *served) send(token, method, path, ctype string, body io.Reader, out any) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.url+path, body)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("X-Auth-Token", token)
	if body != nil {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		s.t.Fatalf("%s %s: status %d: %s", method, path, resp.StatusCode, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			s.t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
}
