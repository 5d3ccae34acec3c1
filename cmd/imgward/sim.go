package main

import (
	"fmt"
	"imgward"
	"os"
	"strings"
	"time"

	"imgward/introspect/sim"
	"imgward/snapshot"
)

var simCommand = command{"sim", simUsage, simulate}

const simUsage = `usage: imgward sim [--seed N] [--publishers N] [--malicious N] [--images N] [--instances N] [--roles R,...] [--infected F] [--rounds N] [--start T] [--step D] (--out FILE [--manifest FILE] | --url URL)

Simulate a cloud: publishers share images of a role (web server, database,
batch job), tenants run instances of them, and every instance reports
snapshots (source "sim") with its role's processes, executables, listening
ports, CPU, RSS, connections, network bytes and system-call histogram,
scaled by how hard its tenant uses it. The malicious publishers' images
carry a payload, in turn:
  cryptominer    high CPU, an xmrig process, connections to a mining pool
  botnet         hundreds of outbound connections, a kdevtmpfsi process
  backdoor       an extra listener on port 31337, sh and nc processes
  exfiltration   high outbound bytes to one remote, an rclone process
The 1st, 3rd... malicious publisher infects every instance; the 2nd, 4th...
only the fraction --infected of them. The same flags give the same output,
byte for byte.

With --out, the snapshots are written as NDJSON and the manifest (the
publishers, which are malicious and how, the images with their roles, the
instances and which run a payload) as JSON to --manifest.

With --url, the cloud is built on a running server with IMGWARD_TOKEN, an
admin's: a project and a user per publisher, which creates and uploads its
images, made public by the admin (property sim_role names the role); five
tenant projects that launch the instances; then the snapshots are posted to
POST /v1/snapshots, taken_at ending now. The manifest then holds the
server's ids.

Flags:
  --seed N         the seed (default 1)
  --publishers N   publishers (default 20)
  --malicious N    malicious publishers among them (default 1)
  --images N       images per publisher (default 3)
  --instances N    instances per image (default 5)
  --roles R,...    the roles images are drawn from (default web,database,batch)
  --infected F     the fraction infected by every second malicious publisher (default 0.3)
  --rounds N       snapshots per instance (default 3)
  --start T        taken_at of the first round, RFC 3339 (default 2026-01-01T00:00:00Z)
  --step D         between rounds (default 10s)
  --out FILE       write the snapshots as NDJSON (- for stdout)
  --manifest FILE  write the manifest as JSON (default: FILE.manifest.json beside --out,
                   or stdout with --url)
  --url URL        build the cloud on this server instead (overrides IMGWARD_URL)
`

func simulate(e *env, args []string) error {
	fs := e.bareFlags("sim")
	var c sim.Config
	fs.Uint64Var(&c.Seed, "seed", 1, "")
	fs.IntVar(&c.Publishers, "publishers", 20, "")
	fs.IntVar(&c.Malicious, "malicious", 1, "")
	fs.IntVar(&c.Images, "images", 3, "")
	fs.IntVar(&c.Instances, "instances", 5, "")
	roles := fs.String("roles", "", "")
	fs.Float64Var(&c.Infected, "infected", 0.3, "")
	fs.IntVar(&c.Rounds, "rounds", 3, "")
	start := fs.String("start", "", "")
	fs.DurationVar(&c.Step, "step", 10*time.Second, "")
	out := fs.String("out", "", "")
	manifest := fs.String("manifest", "", "")
	url := fs.String("url", "", "")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *roles != "" {
		c.Roles = strings.Split(*roles, ",")
	}
	if (*out == "") == (*url == "") {
		return usageError("give one of --out FILE and --url URL")
	}
	if *start != "" {
		t, err := time.Parse(time.RFC3339Nano, *start)
		if err != nil {
			return usageError(fmt.Sprintf("--start %q: want an RFC 3339 time", *start))
		}
		c.Start = t
	} else if *url != "" {
		// A server judges clock skew: the last round is taken now.
		c.Start = time.Now().UTC().Add(-time.Duration(max(c.Rounds-1, 0)) * c.Step)
	}
	m, snaps, err := sim.Generate(c)
	if err != nil {
		return usageError(err.Error())
	}
	if *url != "" {
		e.api = newClient(func(k string) string {
			if k == "IMGWARD_URL" {
				return *url
			}
			return e.getenv(k)
		})
		if err := e.feed(m, snaps); err != nil {
			return err
		}
		return writeManifest(e, m, *manifest)
	}
	if _, err := e.putSnapshots(*out, snaps); err != nil {
		return err
	}
	if *manifest == "" && *out != "-" {
		*manifest = *out + ".manifest.json"
	}
	return writeManifest(e, m, *manifest)
}

// writeManifest writes m as JSON to name, or to stdout when name is "" or "-".
func writeManifest(e *env, m *sim.Manifest, name string) error {
	if name == "" || name == "-" {
		return writeJSON(e.stdout, m)
	}
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := writeJSON(f, m); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// idMap renames the snapshots' instances to the server's ids.
func idMap(snaps []snapshot.Snapshot, ids map[string]string) {
	for i := range snaps {
		snaps[i].InstanceID = imgward.InstanceID(ids[string(snaps[i].InstanceID)])
	}
}
