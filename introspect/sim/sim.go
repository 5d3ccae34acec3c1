// Package sim simulates a cloud for imgward's detectors: publishers share
// images of a role (web server, database, batch job), tenants run
// instances of them, and each instance reports snapshots with the role's
// typical processes, ports, CPU, memory, connections and system-call mix,
// scaled by how hard its tenant uses it. Some publishers are malicious:
// their images carry a payload (cryptominer, botnet zombie, backdoor
// listener, data exfiltration) that runs on all, or on a fraction, of
// their instances.
//
// Everything derives from Config.Seed: the same Config gives the same
// manifest and the same snapshots, byte for byte once encoded.
package sim

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"imgward/errors"
	"imgward/snapshot"
)

// Config sizes the simulated cloud. A zero field means its default.
type Config struct {
	Seed       uint64
	Publishers int // default 20
	Malicious  int // malicious publishers among them; default 1
	Images     int // images per publisher; default 3
	Instances  int // instances per image; default 5
	// Infected is the fraction of the instances of every second malicious
	// publisher (the 2nd, 4th...) that run the payload; the others infect
	// every instance. Default 0.3.
	Infected float64
	// Roles are the roles that images are drawn from; default Roles.
	Roles  []string
	Rounds int           // snapshots per instance; default 3
	Start  time.Time     // taken_at of the first round; default 2026-01-01T00:00:00Z
	Step   time.Duration // between rounds; default 10s
}

func (c Config) withDefaults() (Config, error) {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Publishers, 20)
	def(&c.Malicious, 1)
	def(&c.Images, 3)
	def(&c.Instances, 5)
	def(&c.Rounds, 3)
	if c.Infected == 0 {
		c.Infected = 0.3
	}
	if c.Start.IsZero() {
		c.Start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if c.Step == 0 {
		c.Step = 10 * time.Second
	}
	if len(c.Roles) == 0 {
		c.Roles = Roles
	}
	for _, r := range c.Roles {
		if _, ok := profiles[r]; !ok {
			return c, errors.E("sim.Config", errors.Invalid, errors.Msg("no role "+strconv.Quote(r)+": the roles are web, database and batch"))
		}
	}
	switch {
	case c.Publishers < 1 || c.Publishers > 10000, c.Images < 1 || c.Images > 100,
		c.Instances < 1 || c.Instances > 1000, c.Rounds < 1 || c.Rounds > 1000:
		return c, errors.E("sim.Config", errors.Invalid, errors.Msg("publishers 1-10000, images 1-100, instances 1-1000, rounds 1-1000"))
	case c.Malicious < 0 || c.Malicious > c.Publishers:
		return c, errors.E("sim.Config", errors.Invalid, errors.Msg("malicious must be between 0 and publishers"))
	case c.Infected < 0 || c.Infected > 1, c.Step < 0:
		return c, errors.E("sim.Config", errors.Invalid, errors.Msg("infected must be within 0-1, step not negative"))
	case c.Publishers*c.Images*c.Instances > 1_000_000:
		return c, errors.E("sim.Config", errors.TooLarge, errors.Msg("more than 1,000,000 instances"))
	}
	return c, nil
}

// Manifest is the ground truth of a simulation.
type Manifest struct {
	Seed       uint64      `json:"seed"`
	Publishers []Publisher `json:"publishers"`
	Images     []Image     `json:"images"`
	Instances  []Instance  `json:"instances"`
}

// Publisher is a simulated publisher; Behaviour is empty for a benign one.
type Publisher struct {
	Name      string  `json:"name"`
	ProjectID string  `json:"project_id,omitempty"` // once created on a server
	Malicious bool    `json:"malicious"`
	Behaviour string  `json:"behaviour,omitempty"`
	Infected  float64 `json:"infected,omitempty"` // the fraction of its instances that run the payload
}

// Image is a simulated image.
type Image struct {
	Name      string `json:"name"`
	ID        string `json:"id,omitempty"` // once created on a server
	Publisher string `json:"publisher"`
	Role      string `json:"role"`
}

// Instance is a simulated instance; Malicious says whether it runs its
// publisher's payload.
type Instance struct {
	ID        string `json:"id"`
	Image     string `json:"image"`
	Publisher string `json:"publisher"`
	Malicious bool   `json:"malicious"`
	load      float64
}

// Generate simulates the cloud of c: its manifest and every snapshot, round
// by round (all instances' first snapshots, then the second...).
func Generate(c Config) (*Manifest, []snapshot.Snapshot, error) {
	c, err := c.withDefaults()
	if err != nil {
		return nil, nil, err
	}
	rng := rand.New(rand.NewPCG(c.Seed, 0x696d67776172640a))
	m := &Manifest{Seed: c.Seed}
	// The malicious publishers are spread over the list, so that their
	// position tells nothing.
	bad := map[int]bool{}
	for _, i := range rng.Perm(c.Publishers)[:c.Malicious] {
		bad[i] = true
	}
	nbad := 0
	for p := range c.Publishers {
		pub := Publisher{Name: fmt.Sprintf("publisher-%02d", p+1)}
		if bad[p] {
			pub.Malicious, pub.Behaviour, pub.Infected = true, Behaviours[nbad%len(Behaviours)], 1
			if nbad%2 == 1 {
				pub.Infected = c.Infected
			}
			nbad++
		}
		m.Publishers = append(m.Publishers, pub)
		for k := range c.Images {
			role := c.Roles[rng.IntN(len(c.Roles))]
			img := Image{Name: fmt.Sprintf("%s-%s-%d", pub.Name, role, k+1), Publisher: pub.Name, Role: role}
			m.Images = append(m.Images, img)
			for range c.Instances {
				m.Instances = append(m.Instances, Instance{
					ID: fmt.Sprintf("i-%016x", rng.Uint64()), Image: img.Name, Publisher: pub.Name,
					Malicious: pub.Malicious && rng.Float64() < pub.Infected,
					load:      0.3 + 1.7*rng.Float64(), // tenants use images differently
				})
			}
		}
	}
	snaps := make([]snapshot.Snapshot, 0, len(m.Instances)*c.Rounds)
	roles := map[string]string{}
	behaviour := map[string]string{}
	for _, img := range m.Images {
		roles[img.Name] = img.Role
	}
	for _, p := range m.Publishers {
		behaviour[p.Name] = p.Behaviour
	}
	for r := range c.Rounds {
		at := c.Start.Add(time.Duration(r) * c.Step)
		for _, in := range m.Instances {
			b := ""
			if in.Malicious {
				b = behaviour[in.Publisher]
			}
			snaps = append(snaps, draw(rng, in, roles[in.Image], b, at))
		}
	}
	return m, snaps, nil
}
