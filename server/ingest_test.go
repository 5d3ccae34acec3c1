package server_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"imgward"
	"imgward/server"
	"imgward/snapshot"
)

// TestMain lets the test binary serve imgward as a child process, for the
// crash tests: with IMGWARD_TEST_CHILD set to a data directory it serves
// on a free port, prints "addr <host:port>" and serves until killed.
// IMGWARD_TEST_CHILD_STORE names its store (default sqlite).
func TestMain(m *testing.M) {
	if dir := os.Getenv("IMGWARD_TEST_CHILD"); dir != "" {
		store := os.Getenv("IMGWARD_TEST_CHILD_STORE")
		if store == "" {
			store = "sqlite"
		}
		stallOffers()
		svc, err := server.Open(context.Background(), server.Config{DataDir: dir, Store: store,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println("addr", ln.Addr())
		http.Serve(ln, svc.Handler)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// child is imgward running in a child process.
type child struct {
	cmd *exec.Cmd
	url string
}

func startChild(t *testing.T, dir string) *child { return startChildWith(t, dir, "") }

// startChildWith starts a child on store ("": sqlite).
func startChildWith(t *testing.T, dir, store string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "IMGWARD_TEST_CHILD="+dir, "IMGWARD_TEST_CHILD_STORE="+store)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "addr ")
	if err != nil || !ok {
		t.Fatalf("child: %q, %v", line, err)
	}
	return &child{cmd: cmd, url: "http://" + addr}
}

// fleetSetup makes a publisher with one image, n running instances of it
// on host hv-1 (written straight to the store, which is much faster than n
// launches) and a collector bound to hv-1; it returns the image, the instances and the
// collector's token.
func fleetSetup(tb testing.TB, e *benchEnv, st imgward.Store, admin string, n int) (image string, ids []string, collector string) {
	var p struct{ ID string }
	e.call(tb, "POST", "/v1/projects", admin, "application/json", map[string]string{"name": "ops"}, 201, &p)
	var u struct{ Token string }
	e.call(tb, "POST", "/v1/users", admin, "application/json", map[string]any{"name": "c", "project_id": p.ID, "role": "collector", "hosts": []string{"hv-1"}}, 201, &u)
	var img struct{ ID string }
	e.call(tb, "POST", "/v2/images", admin, "application/json", map[string]string{"name": "web", "disk_format": "raw", "container_format": "bare"}, 201, &img)
	ctx := context.Background()
	for lo := 0; lo < n; lo += 1000 {
		err := st.Update(ctx, func(tx imgward.Tx) error {
			for i := lo; i < min(n, lo+1000); i++ {
				id := fmt.Sprintf("i-%016x", i+1)
				ids = append(ids, id)
				if err := tx.CreateInstance(ctx, &imgward.Instance{ID: imgward.InstanceID(id), ImageID: imgward.ImageID(img.ID),
					ProjectID: imgward.ProjectID(p.ID), UserID: "u", Host: "hv-1", State: imgward.InstanceRunning, CreatedAt: time.Now()}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	return img.ID, ids, u.Token
}

// snapshotBatch returns one snapshot of each instance, of realistic size:
// 24 numeric features and 3 sets.
func snapshotBatch(ids []string, at time.Time) string {
	var b strings.Builder
	for i, id := range ids {
		s := &snapshot.Snapshot{InstanceID: imgward.InstanceID(id), TakenAt: at, Source: "sim",
			Numeric: map[string]float64{}, Sets: map[string][]string{
				"procs": {"nginx", "sshd", "cron"}, "ports": {"22", "80", "443"}, "modules": {"ext4", "virtio_net"}}}
		for f := range 24 {
			s.Numeric[fmt.Sprintf("f%02d", f)] = float64(i%100) + float64(f)/10
		}
		line, _ := snapshot.Marshal(s)
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.String()
}

// TestIngestSurvivesKill posts a batch to a server in a child process,
// kills it with SIGKILL as soon as the batch is acknowledged, restarts it
// on the same data, and finds every snapshot: in the store and in the
// unified state, which is rebuilt from the store at start.
func TestIngestSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	dir := t.TempDir()
	c := startChild(t, dir)
	token, err := os.ReadFile(dir + "/admin.token")
	if err != nil {
		t.Fatal(err)
	}
	admin := strings.TrimSpace(string(token))
	e := &benchEnv{url: c.url, client: http.DefaultClient}
	// The child owns the store; instances go through a second handle on
	// the same SQLite file, which is safe across processes.
	st, err := server.Stores["sqlite"](context.Background(), server.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	image, ids, col := fleetSetup(t, e, st, admin, 500)
	st.Close()
	var res struct{ Accepted int }
	e.call(t, "POST", "/v1/snapshots", col, "application/x-ndjson", snapshotBatch(ids, time.Now()), 200, &res)
	if err := c.cmd.Process.Kill(); err != nil { // SIGKILL: no chance to flush anything
		t.Fatal(err)
	}
	c.cmd.Wait()
	if res.Accepted != 500 {
		t.Fatalf("accepted %d, want 500", res.Accepted)
	}

	c = startChild(t, dir)
	e.url = c.url
	var state struct{ Instances int }
	e.call(t, "GET", "/v1/images/"+image+"/state", admin, "", nil, 200, &state)
	if state.Instances != 500 {
		t.Errorf("after kill -9 and restart the image state holds %d instances, want 500", state.Instances)
	}
}

// TestDetectEvery checks that a server started with DetectEvery runs
// detection by itself, audited as the system.
func TestDetectEvery(t *testing.T) {
	svc, err := server.Open(context.Background(), server.Config{DataDir: t.TempDir(), Store: "sqlite",
		DetectEvery: 20 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var runs int
		err := svc.Store.View(t.Context(), func(tx imgward.Tx) error {
			es, err := tx.ListAudit(t.Context(), 0, 0)
			for _, e := range es {
				if e.Action == "detect.run" && e.Actor == "system" {
					runs++
				}
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if runs >= 2 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d periodic runs in 5s, want 2 or more", runs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
