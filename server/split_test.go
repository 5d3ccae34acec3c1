package server_test

import (
	"archive/tar"
	"bytes"
	"io"
	"sync"
	"testing"
	"time"

	"imgward/seal"
)

// TestSplit is the attack of issue 11 §3 over real HTTP: a member fetches
// a protected image's plaintext through the key broker and uploads it in
// parts, each too small to be flagged alone. The owner's parts are weighed
// together (fingerprint.Rule): every part is flagged and none can be
// shared, while unrelated uploads stay unflagged.
func TestSplit(t *testing.T) { split(t, newCloud(t)) }

// TestSplitPostgres is the attack on the store of several nodes.
func TestSplitPostgres(t *testing.T) { split(t, newPostgresCloud(t)) }

func split(t *testing.T, c *cloud) {
	_, aliceTok := c.tenant("alice")
	bob, bobTok := c.tenant("bob")
	x := c.image(aliceTok, map[string]any{"imgward_protect": "full"}, tarOf(t, rootfs(1, 200), time.Now()))
	c.share(aliceTok, x, bob, bobTok)

	plain := fetchPlain(t, c, x, bobTok)
	var files []file
	tr := tar.NewReader(bytes.NewReader(plain))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("fetched plaintext: %v", err)
		}
		d, _ := io.ReadAll(tr)
		files = append(files, file{h.Name, d})
	}
	if want := rootfs(1, 200); len(files) != len(want) || !bytes.Equal(files[7].data, want[7].data) {
		t.Fatalf("fetched plaintext holds %d files, not X's %d", len(files), len(want))
	}

	flags := func() map[string]map[string]any { return flagsOf(c) }
	upload := func(tok string, parts [][]file) []string {
		t.Helper()
		ids := make([]string, len(parts))
		for i, p := range parts {
			ids[i] = c.image(tok, map[string]any{"visibility": "private"}, tarOf(t, p, time.Now()))
		}
		return ids
	}
	wantFlagged := func(name string, ids []string, tok string) {
		t.Helper()
		wantDerived(t, c, x, bob, name, ids, tok)
	}

	// Halves: the first holds less than half of X and is not flagged
	// alone; the second, with the first, holds all of it.
	var total, n int
	for _, f := range files {
		total += len(f.data)
	}
	cut := 0
	for cut < len(files) && 2*(n+len(files[cut].data)) < total {
		n += len(files[cut].data)
		cut++
	}
	first := upload(bobTok, [][]file{files[:cut]})
	if f := flags()[first[0]]; f != nil {
		t.Fatalf("the first half (%d of %d bytes) is flagged alone: %v", n, total, f)
	}
	second := upload(bobTok, [][]file{files[cut:]})
	wantFlagged("halves", append(first, second...), bobTok)

	// Halves uploaded at once, so that neither upload's check may see
	// the other's part: the later commit weighs both.
	_, fredTok := c.tenant("fred")
	ids := []string{c.create(fredTok, nil), c.create(fredTok, nil)}
	halves := [][]byte{tarOf(t, files[:cut], time.Now()), tarOf(t, files[cut:], time.Now())}
	codes := make([]int, 2)
	var wg sync.WaitGroup
	for i := range halves {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = c.do("PUT", "/v2/images/"+ids[i]+"/file", fredTok, halves[i]).code
		}()
	}
	wg.Wait()
	if codes[0] != 204 || codes[1] != 204 {
		t.Fatalf("concurrent uploads of the halves: %v", codes)
	}
	wantFlagged("halves at once", ids, fredTok)

	// Interleaved quarters, each file lightly edited, by another member.
	_, daveTok := c.tenant("dave")
	quarters := make([][]file, 4)
	for i, f := range files {
		d := bytes.Clone(f.data)
		d[len(d)/2] ^= 0xff
		quarters[i%4] = append(quarters[i%4], file{f.name, d})
	}
	wantFlagged("interleaved quarters, edited", upload(daveTok, quarters), daveTok)

	// Unrelated uploads, by Bob after his parts and by a third project,
	// are not flagged.
	_, erinTok := c.tenant("erin")
	unrelated := append(upload(bobTok, [][]file{rootfs(2, 100)}),
		upload(erinTok, [][]file{rootfs(3, 100), rootfs(4, 100), rootfs(5, 100)})...)
	// and a small slice of X in a large upload of one's own is not a part
	// that flags it.
	unrelated = append(unrelated, upload(erinTok, [][]file{append(rootfs(6, 200), files[:2]...)})...)
	wantUnflagged(t, c, unrelated)
}

// fetchPlain is what a member does with a protected image x shared with
// it: fetch the sealed bytes, launch an instance, have the broker release
// the key to it, and unseal.
func fetchPlain(t *testing.T, c *cloud, x, tok string) []byte {
	t.Helper()
	sealed := c.call("GET", "/v2/images/"+x+"/file", tok, nil, 200, nil)
	_, id := c.launch(tok, x)
	r, key := c.release(id, x)
	if r.code != 200 {
		t.Fatalf("release to the member's instance: %d %s", r.code, r.body)
	}
	_, sr, err := seal.NewReader(bytes.NewReader(sealed.body), key)
	if err != nil {
		t.Fatal(err)
	}
	var plain bytes.Buffer
	if _, err := plain.ReadFrom(sr); err != nil {
		t.Fatal(err)
	}
	return plain.Bytes()
}

// flagsOf returns the flags that stand, by image id.
func flagsOf(c *cloud) map[string]map[string]any {
	var fs struct{ Flags []map[string]any }
	c.call("GET", "/v1/flags", c.admin, nil, 200, &fs)
	m := map[string]map[string]any{}
	for _, f := range fs.Flags {
		m[f["image_id"].(string)] = f
	}
	return m
}

// wantDerived checks that each of ids is flagged as derived from x and
// may be neither made shared nor given member as a member.
func wantDerived(t *testing.T, c *cloud, x, member, name string, ids []string, tok string) {
	t.Helper()
	fs := flagsOf(c)
	for i, id := range ids {
		f := fs[id]
		if f == nil || f["derived_from"] != x {
			t.Errorf("%s: part %d not flagged as derived from %s: %v", name, i, x, f)
			continue
		}
		t.Logf("%s: part %d: %s", name, i, f["reason"])
		patch := `[{"op":"replace","path":"/visibility","value":"shared"}]`
		c.call("PATCH", "/v2/images/"+id, tok, patch, 403, nil)
		c.call("POST", "/v2/images/"+id+"/members", tok, map[string]string{"member": member}, 403, nil)
	}
}

// wantUnflagged checks that none of ids is flagged.
func wantUnflagged(t *testing.T, c *cloud, ids []string) {
	t.Helper()
	fs := flagsOf(c)
	for _, id := range ids {
		if f := fs[id]; f != nil {
			t.Errorf("unrelated upload %s flagged: %v", id, f)
		}
	}
}
