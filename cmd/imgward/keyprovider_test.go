package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"imgward/broker/brokertest"
)

// needProgram returns the path of a program that a test runs for real. It
// skips the test where the program is missing, except under CI=true, where
// a missing program fails the test: CI must not pass by testing less.
func needProgram(t *testing.T, path string) string {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing (run scripts/test-deps.sh): %v", path, err)
		}
		t.Skipf("%s is missing (run scripts/test-deps.sh)", path)
	}
	return path
}

const testImageID = "3f2a0c4e-1b7d-4e8a-9c51-6d0f2b9e7a13"

func kpRun(t *testing.T, env map[string]string, req string) (string, string, int) {
	t.Helper()
	return runCLI(t, env, strings.NewReader(req), "keyprovider")
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestKeyproviderProtocol runs both operations in process, as ocicrypt
// would call them, including the refusals.
func TestKeyproviderProtocol(t *testing.T) {
	key := bytes.Repeat([]byte{9}, 32)
	fake := brokertest.New()
	fake.AddImage(testImageID, key)
	fake.Bind("tok-bound", testImageID)
	srv := httptest.NewServer(fake)
	defer srv.Close()
	keyFile := writeFile(t, "key", []byte(base64.StdEncoding.EncodeToString(key)+"\n"))

	wrapReq := `{"op":"keywrap","keywrapparams":{"ec":{"Parameters":{"imgward":["` +
		base64.StdEncoding.EncodeToString([]byte(testImageID)) + `"]},"DecryptConfig":{"Parameters":{}}},"optsdata":"` +
		base64.StdEncoding.EncodeToString([]byte("layer-opts")) + `"}}`
	out, errOut, code := kpRun(t, map[string]string{"IMGWARD_DATA_KEY_FILE": keyFile}, wrapReq)
	if code != exitOK {
		t.Fatalf("keywrap: exit %d: %s", code, errOut)
	}
	var w kpWrapOutput
	if err := json.Unmarshal([]byte(out), &w); err != nil {
		t.Fatal(err)
	}
	unwrapReq := `{"op":"keyunwrap","keyunwrapparams":{"dc":{"Parameters":{"imgward":[""]}},"annotation":"` +
		base64.StdEncoding.EncodeToString(w.KeyWrapResults.Annotation) + `"}}`

	bound := map[string]string{"IMGWARD_URL": srv.URL, "IMGWARD_IDENTITY": writeFile(t, "id", []byte("tok-bound\n"))}
	out, errOut, code = kpRun(t, bound, unwrapReq)
	if code != exitOK {
		t.Fatalf("keyunwrap: exit %d: %s", code, errOut)
	}
	var u kpUnwrapOutput
	if err := json.Unmarshal([]byte(out), &u); err != nil || string(u.KeyUnwrapResults.OptsData) != "layer-opts" {
		t.Fatalf("keyunwrap = %s, %v", out, err)
	}

	for _, tc := range []struct {
		name string
		env  map[string]string
		req  string
		code int
		err  string
	}{
		{"denied", map[string]string{"IMGWARD_URL": srv.URL, "IMGWARD_IDENTITY": writeFile(t, "id", []byte("tok-other"))},
			unwrapReq, exitPermission, "instance is not bound to this image"},
		{"no identity", map[string]string{"IMGWARD_URL": srv.URL}, unwrapReq, exitError, "set IMGWARD_IDENTITY"},
		{"broker down", map[string]string{"IMGWARD_URL": "http://127.0.0.1:1", "IMGWARD_IDENTITY": bound["IMGWARD_IDENTITY"]},
			unwrapReq, exitError, "key broker unreachable"},
		{"no image named", map[string]string{"IMGWARD_DATA_KEY_FILE": keyFile},
			`{"op":"keywrap","keywrapparams":{"ec":{"Parameters":{}},"optsdata":""}}`, exitError, "provider:imgward:IMAGE_ID"},
		{"bad annotation", bound, `{"op":"keyunwrap","keyunwrapparams":{"annotation":"AAAA"}}`, exitError, "not an imgward key annotation"},
		{"bad op", bound, `{"op":"frob"}`, exitError, `unknown operation "frob"`},
		{"not json", bound, `{`, exitError, "malformed key provider request"},
	} {
		out, errOut, code := kpRun(t, tc.env, tc.req)
		if code != tc.code || out != "" || !strings.Contains(errOut, tc.err) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit %d and %q", tc.name, code, out, errOut, tc.code, tc.err)
		}
	}
}

// skopeoCandidates returns the skopeo programs that TestSkopeoInterop
// tries, in order: Debian's /usr/bin/skopeo, then IMGWARD_TEST_SKOPEO, the
// key-provider-capable one that scripts/skopeo-build.sh builds and
// scripts/test.sh exports. A named program that is missing fails the test.
func skopeoCandidates(t *testing.T) []string {
	t.Helper()
	var c []string
	if _, err := os.Stat("/usr/bin/skopeo"); err == nil {
		c = append(c, "/usr/bin/skopeo")
	}
	if p := os.Getenv("IMGWARD_TEST_SKOPEO"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("IMGWARD_TEST_SKOPEO: %v", err)
		}
		c = append(c, p)
	}
	return c
}

// TestSkopeoInterop encrypts an OCI image with the real skopeo through
// imgward's key provider, and decrypts it through the key broker of a real
// imgward served over HTTP, with identity documents that its launches
// issued: the owner's instance wraps the layer key under her protected
// image's data key; for a member's instance bound to that image it opens,
// byte for byte; for one of the member's instances bound to another image
// it does not, and the broker's audit shows the refusal. It needs a skopeo
// built with ocicrypt 1.1 or later: Debian's if it has them, else
// IMGWARD_TEST_SKOPEO. Without one it skips with a reason, except under
// CI=true, where it fails.
func TestSkopeoInterop(t *testing.T) {
	candidates := skopeoCandidates(t)
	dir := t.TempDir()
	layer := makeOCILayout(t, filepath.Join(dir, "src"))

	url, adminToken := startServer(t)
	alice, bob, bobProject := tenantsOn(t, url, adminToken)
	img, _ := sharedFull(t, alice, bob, bobProject, dir)
	imageID := img["id"].(string)
	var other obj
	bob.json(&other, "image", "create", "bob-own", "--disk-format", "raw")
	otherFile := writeFile(t, "other.raw", []byte("bob's own image"))
	bob.ok("image", "upload", other["id"].(string), otherFile)
	// launch returns the file of the identity document that the launch of
	// image issued for u's instance.
	launch := func(u user, image, name string) string {
		f := filepath.Join(dir, name)
		u.ok("instance", "launch", image, "--host", "hv1", "--identity-out", f)
		return f
	}

	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := json.Marshal(map[string]any{"key-providers": map[string]any{
		"imgward": map[string]any{"cmd": map[string]any{"path": self, "args": []string{"keyprovider"}}},
	}})
	base := []string{
		"OCICRYPT_KEYPROVIDER_CONFIG=" + writeFile(t, "ocicrypt.json", cfg),
		"IMGWARD_TEST_AS_MAIN=1", "HOME=" + dir, "PATH=" + os.Getenv("PATH"), "IMGWARD_URL=" + url,
	}
	var skopeo string
	skopeoCopy := func(env []string, args ...string) (string, error) {
		cmd := exec.Command(skopeo, append([]string{"--insecure-policy", "copy", "--quiet"}, args...)...)
		cmd.Env = append(base, env...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	// The first candidate whose ocicrypt has key providers encrypts; an
	// older one (Debian bookworm's skopeo 1.9.3 links ocicrypt 1.0.3)
	// answers "Provided protocol not recognized" before it asks for a key.
	// Each try presents a document of its own: a document is used once.
	var tried []string
	for i, c := range candidates {
		skopeo = c
		if err := os.RemoveAll(filepath.Join(dir, "enc")); err != nil {
			t.Fatal(err)
		}
		owner := []string{"IMGWARD_IDENTITY=" + launch(alice, imageID, fmt.Sprintf("alice%d.identity", i))}
		out, err := skopeoCopy(owner, "--encryption-key", "provider:imgward:"+imageID,
			"oci:"+filepath.Join(dir, "src")+":v1", "oci:"+filepath.Join(dir, "enc")+":v1")
		if err == nil {
			break
		}
		if !strings.Contains(out, "Provided protocol not recognized") {
			t.Fatalf("%s encrypt: %v\n%s", c, err, out)
		}
		tried = append(tried, c)
		skopeo = ""
	}
	if skopeo == "" {
		why := fmt.Sprintf("no skopeo with key providers (ocicrypt >= 1.1): tried %q; "+
			"scripts/skopeo-build.sh builds one, and scripts/test.sh sets IMGWARD_TEST_SKOPEO to it", tried)
		if os.Getenv("CI") == "true" {
			t.Fatal(why)
		}
		t.Skip(why)
	}
	t.Logf("skopeo: %s", skopeo)
	checkEncrypted(t, filepath.Join(dir, "enc"), imageID)

	bound := []string{"IMGWARD_IDENTITY=" + launch(bob, imageID, "bob-bound.identity")}
	if out, err := skopeoCopy(bound, "--decryption-key", "provider:imgward",
		"oci:"+filepath.Join(dir, "enc")+":v1", "oci:"+filepath.Join(dir, "dec")+":v1"); err != nil {
		t.Fatalf("skopeo decrypt, bound instance: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "dec", "blobs", "sha256", layer)); err != nil {
		t.Fatalf("decrypted image lacks the original layer: %v", err)
	}

	// Bob's instance of his own image: a genuine document, for another
	// image.
	unbound := []string{"IMGWARD_IDENTITY=" + launch(bob, other["id"].(string), "bob-unbound.identity")}
	out, err := skopeoCopy(unbound, "--decryption-key", "provider:imgward",
		"oci:"+filepath.Join(dir, "enc")+":v1", "oci:"+filepath.Join(dir, "dec2")+":v1")
	if err == nil {
		t.Fatalf("skopeo decrypted for an unbound instance:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "dec2", "blobs", "sha256", layer)); err == nil {
		t.Error("the unbound instance's copy holds the plaintext layer")
	}

	// ocicrypt reports a refused unwrap only as a missing key: the
	// broker's audit says whose refusal it was, and that it released the
	// key to Alice's and Bob's bound instances only.
	released, refused := keyReleases(t, url, adminToken, imageID)
	if len(released) != 2 {
		t.Errorf("broker released %s's key %d times, want 2 (Alice's wrap, Bob's bound unwrap): %v", imageID, len(released), released)
	}
	if len(refused) != 1 || refused[0] != "identity document is for another image" {
		t.Errorf("broker's audited refusals for %s: %q, want the unbound instance's\nskopeo: %s", imageID, refused, out)
	}
}

// keyReleases returns the actors of the audited key releases of image and
// the reasons of its audited refusals, read from the server's audit log.
func keyReleases(t *testing.T, url, adminToken, image string) (released, refused []string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url+"/v1/audit?limit=1000", nil)
	req.Header.Set("X-Auth-Token", adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct {
		Entries []struct{ Actor, Action, Object, Result, Reason string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /v1/audit: %d %v", resp.StatusCode, err)
	}
	for _, e := range page.Entries {
		if e.Action != "key.release" || !strings.Contains(e.Object, image) {
			continue
		}
		if e.Result == "denied" {
			refused = append(refused, e.Reason)
		} else {
			released = append(released, e.Actor)
		}
	}
	return released, refused
}
