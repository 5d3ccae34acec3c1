package api_test

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"imgward"
	"imgward/monitor"
	"imgward/server"
	"imgward/snapshot"
)

// newDetectEnv is newEnv with a detection configuration.
func newDetectEnv(t *testing.T, cfg monitor.Config) *env {
	return newEnvWith(t, func(c *server.Config) { c.Detect = cfg })
}

// publicImage creates an active public image of the tenant.
func (e *env) publicImage(owner tenant, name string) string {
	e.t.Helper()
	var img struct{ ID string }
	e.do("POST", "/v2/images", owner.token, map[string]any{"name": name, "disk_format": "raw", "container_format": "bare"}, 201, &img)
	resp := e.raw("PUT", "/v2/images/"+img.ID+"/file", owner.token, "application/octet-stream", strings.NewReader("disk"))
	resp.Body.Close()
	r := e.raw("PATCH", "/v2/images/"+img.ID, e.admin, "application/openstack-images-v2.1-json-patch",
		strings.NewReader(`[{"op":"replace","path":"/visibility","value":"public"}]`))
	r.Body.Close()
	if r.StatusCode != 200 {
		e.t.Fatalf("publicize: %d", r.StatusCode)
	}
	return img.ID
}

// launchN launches n instances of an image as the tenant, on host hv-1.
func (e *env) launchN(by tenant, image string, n int) []string {
	e.t.Helper()
	return e.launchOn(by, image, "hv-1", n)
}

// launchOn launches n instances of an image as the tenant on a host.
func (e *env) launchOn(by tenant, image, host string, n int) []string {
	e.t.Helper()
	ids := make([]string, n)
	for i := range ids {
		var in instanceJSON
		e.do("POST", "/v1/instances", by.token, map[string]string{"image_id": image, "host": host}, 201, &in)
		ids[i] = in.ID
	}
	return ids
}

// collector creates a user of the collector role, bound to host hv-1,
// and returns its token.
func (e *env) collector() string {
	e.t.Helper()
	return e.collectorOf("ops", "hv-1")
}

// collectorOf creates a project and in it a collector bound to hosts, and
// returns its token.
func (e *env) collectorOf(project string, hosts ...string) string {
	e.t.Helper()
	var p struct{ ID string }
	e.do("POST", "/v1/projects", e.admin, map[string]string{"name": project}, 201, &p)
	var u struct{ Token string }
	e.do("POST", "/v1/users", e.admin, map[string]any{"name": "collector", "project_id": p.ID, "role": "collector", "hosts": hosts}, 201, &u)
	return u.Token
}

// behaviour makes a web server's snapshot; a zombie mines and calls home.
func behaviour(rng *rand.Rand, id string, zombie bool, at time.Time) string {
	return marshalLine(behaviourOf(rng, id, zombie, at))
}

func marshalLine(s *snapshot.Snapshot) string {
	b, err := snapshot.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// behaviourOf is behaviour's snapshot, before it is marshalled.
func behaviourOf(rng *rand.Rand, id string, zombie bool, at time.Time) *snapshot.Snapshot {
	s := &snapshot.Snapshot{InstanceID: imgward.InstanceID(id), TakenAt: at, Source: "sim",
		Numeric: map[string]float64{
			"cpu.pct": 10 + rng.NormFloat64(), "rss_mb": 500 + 20*rng.NormFloat64(),
			"conns": 5 + rng.NormFloat64(), "threads": 40 + 2*rng.NormFloat64(),
		},
		Sets: map[string][]string{"procs": {"nginx", "sshd"}, "ports": {"22", "80"}}}
	if zombie {
		s.Numeric["cpu.pct"] = 95 + rng.NormFloat64()
		s.Numeric["conns"] = 200 + 10*rng.NormFloat64()
		s.Sets["procs"] = append(s.Sets["procs"], "kworkerd")
		s.Sets["ports"] = append(s.Sets["ports"], "4444")
	}
	return s
}

// syscallBehaviour makes a web server's snapshot with its system calls: a
// loop of accept, read, a few sends, close, and now and then a static file
// read. An exfiltrating server also reads files and sends them out, with
// no call that it would not make anyway: only their order tells.
// Everything else is the same.
func syscallBehaviour(rng *rand.Rand, id string, exfiltrates bool, at time.Time) string {
	var seq []int32
	for range 40 + rng.IntN(40) {
		seq = append(seq, 43, 0) // accept, read
		for range 1 + rng.IntN(3) {
			seq = append(seq, 44) // sendto
		}
		seq = append(seq, 3) // close
		if rng.IntN(5) == 0 {
			seq = append(seq, 257, 0, 3) // openat, read, close: a static file
		}
	}
	if exfiltrates {
		for range 3 {
			at := rng.IntN(len(seq))
			steal := []int32{257, 0, 44, 0, 44, 0, 44, 3} // openat, (read, sendto) ×3, close
			seq = append(seq[:at], append(steal, seq[at:]...)...)
		}
	}
	s := &snapshot.Snapshot{InstanceID: imgward.InstanceID(id), TakenAt: at, Source: "sim",
		Numeric:  map[string]float64{"cpu.pct": 10 + rng.NormFloat64(), "rss_mb": 500 + 20*rng.NormFloat64()},
		Sets:     map[string][]string{"procs": {"nginx", "sshd"}},
		Syscalls: &snapshot.Syscalls{Sequence: seq}}
	return marshalLine(s)
}

// post sends an NDJSON batch and checks the status; it returns the body.
func (e *env) post(token, key, body string, want int) string {
	e.t.Helper()
	r, err := newNDJSON(e.url, token, key, body)
	if err != nil {
		e.t.Fatal(err)
	}
	defer r.Body.Close()
	data, _ := io.ReadAll(r.Body)
	if r.StatusCode != want {
		e.t.Fatalf("POST /v1/snapshots: status %d, want %d: %s", r.StatusCode, want, data)
	}
	return string(data)
}

func batch(lines ...string) string { return strings.Join(lines, "\n") + "\n" }

func fmtLine(format string, args ...any) string { return fmt.Sprintf(format, args...) }
func newNDJSON(url, token, key, body string) (*http.Response, error) {
	req, err := http.NewRequest("POST", url+"/v1/snapshots", strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Auth-Token", token)
	req.Header.Set("Content-Type", "application/x-ndjson")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	return http.DefaultClient.Do(req)
}
