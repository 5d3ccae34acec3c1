package sim

import (
	"bytes"
	"slices"
	"testing"

	"imgward/snapshot"
)

func encode(t *testing.T, c Config) []byte {
	_, snaps, err := Generate(c)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	enc := snapshot.NewEncoder(&b)
	for i := range snaps {
		if err := enc.Encode(&snaps[i]); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

func TestDeterministic(t *testing.T) {
	c := Config{Seed: 7, Publishers: 6, Malicious: 4, Images: 2, Instances: 3, Rounds: 2}
	a, b := encode(t, c), encode(t, c)
	if !bytes.Equal(a, b) {
		t.Fatal("the same seed gave different bytes")
	}
	c.Seed = 8
	if bytes.Equal(a, encode(t, c)) {
		t.Fatal("another seed gave the same bytes")
	}
	if n := bytes.Count(a, []byte("\n")); n != 6*2*3*2 {
		t.Errorf("%d snapshots", n)
	}
}

// TestBehaviours checks that each payload moves the features it is meant to,
// against benign instances of the same role.
func TestBehaviours(t *testing.T) {
	m, snaps, err := Generate(Config{Seed: 1, Publishers: 12, Malicious: 4, Images: 6, Instances: 10, Rounds: 2})
	if err != nil {
		t.Fatal(err)
	}
	role := map[string]string{}
	for _, img := range m.Images {
		role[img.Name] = img.Role
	}
	behaviour := map[string]string{}
	infected := map[string][2]int{}
	for _, p := range m.Publishers {
		behaviour[p.Name] = p.Behaviour
	}
	byID := map[string]Instance{}
	for _, in := range m.Instances {
		byID[in.ID] = in
		if b := behaviour[in.Publisher]; b != "" {
			c := infected[b]
			c[1]++
			if in.Malicious {
				c[0]++
			}
			infected[b] = c
		}
	}
	// Mean of a feature per (behaviour or "benign", role).
	type key struct{ b, role string }
	sum, n := map[key]map[string]float64{}, map[key]float64{}
	has := map[key]map[string]float64{} // fraction of snapshots whose sets hold an item
	for _, s := range snaps {
		in := byID[string(s.InstanceID)]
		k := key{"benign", role[in.Image]}
		if in.Malicious {
			k.b = behaviour[in.Publisher]
		}
		if sum[k] == nil {
			sum[k], has[k] = map[string]float64{}, map[string]float64{}
		}
		for f, v := range s.Numeric {
			sum[k][f] += v
		}
		for _, item := range []string{"xmrig", "kdevtmpfsi", "nc", "rclone"} {
			if slices.Contains(s.Sets["proc.names"], item) {
				has[k][item]++
			}
		}
		if slices.Contains(s.Sets["net.listen"], "tcp:0.0.0.0:31337") {
			has[k]["31337"]++
		}
		n[k]++
	}
	mean := func(k key, f string) float64 { return sum[k][f] / n[k] }
	checked := 0
	for _, r := range Roles {
		benign := key{"benign", r}
		for _, c := range []struct {
			b, feature string
			factor     float64 // the malicious mean exceeds the benign by this factor
			item       string
		}{
			{"cryptominer", "proc.cpu_percent", 1.3, "xmrig"},
			{"botnet", "net.connections", 2, "kdevtmpfsi"},
			{"backdoor", "net.listeners", 1.01, "31337"},
			{"exfiltration", "net.tx_bytes_per_s", 5, "rclone"},
		} {
			k := key{c.b, r}
			if n[k] == 0 || n[benign] == 0 {
				continue
			}
			checked++
			if mean(k, c.feature) < c.factor*mean(benign, c.feature) {
				t.Errorf("%s on %s: %s %.1f, benign %.1f", c.b, r, c.feature, mean(k, c.feature), mean(benign, c.feature))
			}
			if has[k][c.item] != n[k] || has[benign][c.item] != 0 {
				t.Errorf("%s on %s: %s in %v of %v snapshots, benign %v", c.b, r, c.item, has[k][c.item], n[k], has[benign][c.item])
			}
		}
	}
	if checked < 6 {
		t.Errorf("only %d behaviour/role pairs drawn", checked)
	}
	// Every second malicious publisher infects a fraction of its instances.
	full, part := 0, 0
	for b, c := range infected {
		switch {
		case c[0] == c[1]:
			full++
		case c[0] > 0 && c[0] < c[1]*6/10:
			part++
		default:
			t.Errorf("%s: %d of %d instances infected", b, c[0], c[1])
		}
	}
	if full != 2 || part != 2 {
		t.Errorf("%d fully and %d partly infecting publishers, want 2 and 2", full, part)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []Config{{Publishers: -1}, {Malicious: 30}, {Infected: 2}, {Publishers: 10000, Images: 100, Instances: 1000}, {Roles: []string{"web", "mail"}}} {
		if _, _, err := Generate(c); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
}

// TestRoles checks that --roles restricts the images' roles, and that the
// default draws all of them with the same stream as before it existed.
func TestRoles(t *testing.T) {
	c := Config{Seed: 2, Publishers: 5, Images: 4}
	m, _, err := Generate(Config{Seed: 2, Publishers: 5, Images: 4, Roles: []string{"database"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range m.Images {
		if img.Role != "database" {
			t.Errorf("image %s has role %s", img.Name, img.Role)
		}
	}
	all := map[string]bool{}
	m, _, _ = Generate(c)
	for _, img := range m.Images {
		all[img.Role] = true
	}
	if len(all) != len(Roles) {
		t.Errorf("20 images drew the roles %v", all)
	}
	c.Roles = Roles
	if !bytes.Equal(encode(t, c), encode(t, Config{Seed: 2, Publishers: 5, Images: 4})) {
		t.Error("Roles set to the default changed the output")
	}
}
