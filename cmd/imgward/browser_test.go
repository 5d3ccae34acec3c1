package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The dashboard's browser tests drive a real headless Chromium through the
// DevTools protocol against real servers: the demo started as "imgward
// serve --demo", and a server holding 10,000 instances for timing.
// IMGWARD_SCREENSHOTS=1 writes the screenshots shown in the README to docs/.

// chromium starts a headless Chromium with a fresh profile and returns a
// browser context. Without the browser the test skips, and fails under
// CI=true.
func chromium(t *testing.T) context.Context {
	t.Helper()
	exe := ""
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			exe = p
			break
		}
	}
	if exe == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is not installed (scripts/test-deps.sh installs it)")
		}
		t.Skip("chromium is not installed (scripts/test-deps.sh installs it)")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
		chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("no-first-run", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true), chromedp.Flag("hide-scrollbars", true),
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// demoProcess runs "imgward serve --demo" and returns its URL, the admin
// token it prints, and a channel that gets the name of the malicious
// publisher once the demo says its cloud is up.
func demoProcess(t *testing.T) (string, string, <-chan string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "serve", "--demo", "--listen", "127.0.0.1:0", "--log-level", "error")
	cmd.Env = append(os.Environ(), "IMGWARD_TEST_AS_MAIN=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() })
	sc := bufio.NewScanner(out)
	var tok string
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "iwt_") {
			tok = line
		}
		if u, ok := strings.CutPrefix(line, "imgward serving on "); ok {
			if tok == "" {
				t.Fatal("the demo printed no admin token")
			}
			bad := make(chan string, 1)
			go func() {
				for sc.Scan() {
					// "demo: the simulated cloud is up: 20 publishers, NAME malicious, ..."
					if _, rest, ok := strings.Cut(sc.Text(), "publishers, "); ok {
						bad <- strings.Fields(rest)[0]
					}
				}
				io.Copy(io.Discard, out)
			}()
			return u, tok, bad
		}
	}
	t.Fatalf("the demo did not start: %v", sc.Err())
	return "", "", nil
}

// apiJSON calls the API with a token, for what the test sets up.
func apiJSON(t *testing.T, method, url, tok string, in, out any) {
	t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = strings.NewReader(string(b))
	}
	req, _ := http.NewRequest(method, url, body)
	req.Header.Set("X-Auth-Token", tok)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
}

// screenshot saves the viewport as docs/NAME.png when IMGWARD_SCREENSHOTS=1.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if os.Getenv("IMGWARD_SCREENSHOTS") != "1" {
		return
	}
	var png []byte
	if err := chromedp.Do(ctx, chromedp.Sleep(300*time.Millisecond), into(&png, chromedp.CaptureScreenshot())); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("..", "..", "docs", name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// into runs a and keeps its value in dst, so that a value read joins a
// sequence of steps.
func into[T any](dst *T, a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		v, err := a(ctx, t)
		*dst = v
		return chromedp.Void{}, err
	}
}

// signIn opens the dashboard and signs in with tok.
func signIn(ctx context.Context, url, tok string) error {
	return chromedp.Do(ctx,
		chromedp.Navigate(url+"/"),
		chromedp.Evaluate[chromedp.Void](`sessionStorage.clear()`),
		chromedp.Navigate(url+"/"),
		chromedp.WaitVisible(chromedp.ID("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), tok),
		chromedp.SendKeys(chromedp.CSS("#token"), "\r"),
		chromedp.WaitNotPresent(chromedp.CSS("#signin:not([hidden])")),
	)
}

// TestDashboardDemo is the story in a browser: the demo's first
// page shows the malicious publisher at the top and flagged, its fleet,
// and on the robbed image the key release the broker denied with its
// reason; the audit page verifies the checkpoint; a member sees only what
// the API lets it see.
func TestDashboardDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the demo and a browser")
	}
	ctx := chromium(t)
	url, tok, badc := demoProcess(t)
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		c, cancel := context.WithTimeout(ctx, 90*time.Second)
		defer cancel()
		if err := chromedp.Do(c, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	if err := signIn(ctx, url, tok); err != nil {
		t.Fatalf("signing in: %v", err)
	}
	// Within the demo's first minute the malicious publisher tops the list, flagged.
	var top, denial string
	run("the flagged publisher at the top",
		chromedp.WaitVisible(chromedp.CSS(`#publishers tbody tr:first-child .flagged`)),
		into(&top, chromedp.Text(chromedp.CSS(`#publishers tbody tr:first-child td:nth-child(2)`))),
		chromedp.WaitVisible(chromedp.CSS(`#denials`)),
		into(&denial, chromedp.Text(chromedp.CSS(`#denials`))))
	var bad string
	select {
	case bad = <-badc:
	case <-time.After(time.Minute):
		t.Fatal("the demo did not say its cloud is up")
	}
	if top != bad {
		t.Errorf("top publisher %q, want %s, the malicious one", top, bad)
	}
	if !strings.Contains(denial, "identity document is for another image") {
		t.Errorf("the first page's denials lack the robbery attempt: %q", denial)
	}
	screenshot(t, ctx, "dashboard-publishers")

	// A live update (detection runs every 5s, the page polls every 4s)
	// re-renders the page without a reload, and keyboard focus stays put.
	var before, after, focused, want string
	var changed bool
	const active = `document.activeElement.tagName + " " + document.activeElement.getAttribute("href")`
	run("focus a link",
		chromedp.Focus(chromedp.CSS(`#publishers tbody tr:nth-child(3) a`)),
		into(&want, chromedp.Evaluate[string](active)),
		into(&before, chromedp.Text(chromedp.ID("live"))))
	run("a live update keeps focus",
		into(&changed, chromedp.Poll[bool](`document.getElementById("live").textContent !== `+strconv.Quote(before))),
		into(&after, chromedp.Text(chromedp.ID("live"))),
		into(&focused, chromedp.Evaluate[string](active)))
	if focused != want || !strings.HasPrefix(want, "A #/publisher/") {
		t.Errorf("after the live update (%q → %q) focus is on %q, want %q, the same publisher's link wherever its row went", before, after, focused, want)
	}

	var rows int
	var quarantine string
	run("the flagged publisher's fleet",
		chromedp.Click(chromedp.CSS(`#publishers tbody tr:first-child a`)),
		chromedp.WaitVisible(chromedp.CSS(`#fleet tbody tr`)),
		into(&rows, chromedp.Evaluate[int](`document.querySelectorAll("#fleet tbody tr").length`)),
		into(&quarantine, chromedp.Text(chromedp.CSS(`#fleet-h`))))
	if rows != 15 || !strings.Contains(quarantine, "quarantined") {
		t.Errorf("fleet: %d rows, heading %q; want 15 and quarantined", rows, quarantine)
	}
	var chart, state string
	run("the unified state against the baseline",
		into(&chart, chromedp.Evaluate[string](`document.querySelector("svg desc").textContent + " " + document.querySelectorAll("svg circle").length`)),
		chromedp.Click(chromedp.CSS(`#state-details summary`)),
		chromedp.WaitVisible(chromedp.CSS(`#state-slot table`)),
		into(&state, chromedp.Text(chromedp.CSS(`#state-slot caption`))))
	if !strings.Contains(chart, "baseline") || strings.HasSuffix(chart, " 0") || !strings.Contains(state, "over 15 instances") {
		t.Errorf("chart %q, state %q; want a dot per deviating parameter and the state of 15 instances", chart, state)
	}
	screenshot(t, ctx, "dashboard-publisher")

	var releases, protect string
	run("the robbed image",
		chromedp.Navigate(url+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#denials a`)),
		chromedp.Click(chromedp.CSS(`#denials a`)),
		chromedp.WaitVisible(chromedp.CSS(`#releases`)),
		into(&releases, chromedp.Text(chromedp.CSS(`#releases`))),
		into(&protect, chromedp.Text(chromedp.CSS(`.cards`))))
	if !strings.Contains(releases, "denied") || !strings.Contains(releases, "identity document is for another image") || !strings.Contains(releases, "allowed") {
		t.Errorf("key releases of payroll-db: %q; want bob's allowed and mallory's denied with the reason", releases)
	}
	if !strings.Contains(protect, "full") || !strings.Contains(protect, "shared") {
		t.Errorf("image facts %q; want shared and protection full", protect)
	}
	screenshot(t, ctx, "dashboard-image")

	var status string
	run("the audit log",
		chromedp.Navigate(url+"/#/audit"),
		chromedp.WaitVisible(chromedp.CSS(`#checkpoint-status`)),
		into(&status, chromedp.Text(chromedp.CSS(`#checkpoint-status`))))
	if !strings.Contains(status, "checkpoint verifies") {
		t.Errorf("audit: %q, want the checkpoint to verify", status)
	}
	screenshot(t, ctx, "dashboard-audit")

	// A member of bob's project sees bob's images and instances only.
	var projects struct {
		Projects []struct{ ID, Name string }
	}
	apiJSON(t, "GET", url+"/v1/projects", tok, nil, &projects)
	var bob string
	for _, p := range projects.Projects {
		if p.Name == "bob-analytics" {
			bob = p.ID
		}
	}
	var user struct{ Token string }
	apiJSON(t, "POST", url+"/v1/users", tok, map[string]string{"name": "bob-viewer", "project_id": bob, "role": "member"}, &user)
	if err := signIn(ctx, url, user.Token); err != nil {
		t.Fatalf("signing in as a member: %v", err)
	}
	var images, instances string
	var publishers, auditLink bool
	run("a member's page",
		chromedp.WaitVisible(chromedp.CSS(`#images`)),
		into(&images, chromedp.Text(chromedp.CSS(`#images`))),
		into(&instances, chromedp.Text(chromedp.CSS(`#fleet`))),
		into(&publishers, chromedp.Evaluate[bool](`!!document.getElementById("publishers")`)),
		into(&auditLink, chromedp.Evaluate[bool](`!document.getElementById("nav-audit").hidden`)))
	if !strings.Contains(images, "payroll-db") || strings.Contains(images, "mallory-tools") {
		t.Errorf("member's images: %q; want payroll-db (shared with bob) and not mallory-tools (private)", images)
	}
	if !strings.Contains(instances, "(1)") || !strings.Contains(instances, "compute-7") {
		t.Errorf("member's instances: %q; want bob's one instance", instances)
	}
	if publishers || auditLink {
		t.Errorf("a member sees the publisher ranking (%v) or the audit link (%v)", publishers, auditLink)
	}
	screenshot(t, ctx, "dashboard-member")
	var denied string
	run("a member on the audit page",
		chromedp.Navigate(url+"/#/audit"),
		chromedp.WaitVisible(chromedp.CSS(`#view .error`)),
		into(&denied, chromedp.Text(chromedp.CSS(`#view`))))
	if !strings.Contains(denied, "You may not see this page") {
		t.Errorf("member on the audit page: %q", denied)
	}
}

// TestDashboard10k times the publisher list and a fleet page of 10,000
// running instances in the browser: each must render within a second.
func TestDashboard10k(t *testing.T) {
	if testing.Short() {
		t.Skip("launches 10,000 instances and starts a browser")
	}
	ctx := chromium(t)
	dir := t.TempDir()
	_, url := serveProcess(t, filepath.Join(dir, "data"))
	b, err := os.ReadFile(filepath.Join(dir, "data", "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	tok := strings.TrimSpace(string(b))
	var out, errOut strings.Builder
	env := map[string]string{"IMGWARD_TOKEN": tok}
	if code := run([]string{"sim", "--url", url, "--publishers", "1", "--malicious", "0", "--images", "10",
		"--instances", "1000", "--rounds", "1", "--manifest", filepath.Join(dir, "m.json")},
		nil, &out, &errOut, func(k string) string { return env[k] }); code != 0 {
		t.Fatalf("sim: %d %s", code, errOut.String())
	}
	if err := signIn(ctx, url, tok); err != nil {
		t.Fatal(err)
	}
	timed := func(what, hash, sel string, want int, caption string) {
		t.Helper()
		var rows int
		// The best of three: the first pays for the browser's warm-up.
		best := time.Hour
		for range 3 {
			// From a blank page, so that nothing of the last render is found:
			// the time is the page's load, sign-in from session storage, the
			// API reads and the render.
			if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			c, cancel := context.WithTimeout(ctx, time.Minute)
			err := chromedp.Do(c, chromedp.Navigate(url+"/"+hash), chromedp.WaitVisible(chromedp.CSS(sel)),
				into(&rows, chromedp.Evaluate[int](`document.querySelectorAll("`+sel+`").length`)))
			cancel()
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			best = min(best, time.Since(start))
		}
		var timing string
		chromedp.Do(ctx, into(&timing, chromedp.Evaluate[string](`JSON.stringify(performance.getEntriesByType("resource").map(e => [e.name.replace(location.origin, ""), Math.round(e.startTime), Math.round(e.duration)]).concat([["rendered", Math.round(performance.now()), Math.round(+document.body.dataset.rendered)]]))`)))
		t.Logf("%s: %d rows in %s; last load's reads [path, start ms, duration ms]: %s", what, rows, best, timing)
		var text string
		chromedp.Do(ctx, into(&text, chromedp.Text(chromedp.CSS("#view"))))
		if rows != want || !strings.Contains(text, caption) {
			t.Errorf("%s: %d rows, want %d, and %q in the page", what, rows, want, caption)
		}
		if best > time.Second {
			t.Errorf("%s took %s to render, want under 1s", what, best)
		}
	}
	timed("publisher list", "#/", "#publishers tbody tr", 1, "10000 running instances")
	var m struct {
		Publishers []struct {
			ProjectID string `json:"project_id"`
		}
	}
	mb, err := os.ReadFile(filepath.Join(dir, "m.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(mb, &m); err != nil {
		t.Fatal(err)
	}
	// The fleet shows 500 rows a page, and says how many there are.
	fleet := "#/publisher/" + m.Publishers[0].ProjectID
	timed("fleet page", fleet, "#fleet tbody tr", 500, "rows 1–500 of 10000, page 1 of 20")
	timed("last fleet page", fleet+"?page=20", "#fleet tbody tr", 500, "rows 9501–10000 of 10000, page 20 of 20")
}
