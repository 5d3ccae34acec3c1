package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"imgward/introspect"
	"imgward/introspect/sim"
	"imgward/snapshot"
)

// demoRounds is how many rounds of snapshots the demo generates; it posts
// them in turn, each stamped with the time it is posted, and starts over.
const demoRounds = 24

// demoTrusted is how many benign publishers the demo trusts for baselines.
const demoTrusted = 9

// runDemo seeds a simulated cloud on the server at url through its API
// with the admin's token, as any client would: twenty publishers (the 1st
// malicious on every instance, the 2nd on a part), roles, trusted
// publishers, baselines, a robbery attempt that the key broker refuses;
// then it posts a round of snapshots every period until ctx ends. The
// server's own --detect-every runs detection.
func runDemo(ctx context.Context, url, token string, period time.Duration, stdout, stderr io.Writer) error {
	e := newEnv(ctx, nil, io.Discard, stderr, func(k string) string {
		switch k {
		case "IMGWARD_URL":
			return url
		case "IMGWARD_TOKEN":
			return token
		}
		return ""
	})
	admin := e.api
	cfg := sim.Config{Seed: 1, Publishers: 20, Malicious: 2, Rounds: demoRounds, Step: period,
		Start: time.Now().UTC().Add(-time.Duration(demoRounds-1) * period)}
	m, snaps, err := sim.Generate(cfg)
	if err != nil {
		return err
	}
	simIDs := make([]string, len(m.Instances))
	for i := range m.Instances {
		simIDs[i] = m.Instances[i].ID
	}
	// Only the first rounds go in at first; the others follow, one a period.
	perRound := len(snaps) / demoRounds
	first := append([]snapshot.Snapshot(nil), snaps[:3*perRound]...)
	if err := e.feed(m, first); err != nil {
		return err
	}
	ids := map[string]string{}
	for i := range m.Instances {
		ids[simIDs[i]] = m.Instances[i].ID
	}
	for _, img := range m.Images {
		if err := admin.call(ctx, "PUT", path("v1", "images", img.ID, "role"), map[string]string{"role": img.Role}, nil); err != nil {
			return fmt.Errorf("setting the role of %s: %w", img.Name, err)
		}
	}
	trusted := 0
	for _, p := range m.Publishers {
		if !p.Malicious && trusted < demoTrusted {
			if err := admin.call(ctx, "PUT", path("v1", "publishers", p.ProjectID, "trust"), map[string]bool{"trusted": true}, nil); err != nil {
				return fmt.Errorf("trusting %s: %w", p.Name, err)
			}
			trusted++
		}
	}
	if err := admin.call(ctx, "POST", "/v1/baselines/build", nil, nil); err != nil {
		return fmt.Errorf("building baselines: %w", err)
	}
	if err := demoRobbery(e, admin); err != nil {
		return err
	}
	if err := admin.call(ctx, "POST", "/v1/detect/run", nil, nil); err != nil {
		return fmt.Errorf("running detection: %w", err)
	}
	var bad, partly string
	for _, p := range m.Publishers {
		switch {
		case p.Malicious && p.Infected < 1:
			partly = p.Name
		case p.Malicious:
			bad = p.Name
		}
	}
	fmt.Fprintf(stdout, "demo: the simulated cloud is up: %d publishers, %s malicious, %s partly infected; %d instances report every %s\n",
		len(m.Publishers), bad, partly, len(m.Instances), period)
	idMap(snaps, ids)
	p := &introspect.Poster{URL: url, Token: token, Client: admin.hc}
	t := time.NewTicker(period)
	defer t.Stop()
	for round := 3; ; round = (round + 1) % demoRounds {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		batch := make([]snapshot.Snapshot, perRound)
		copy(batch, snaps[round*perRound:(round+1)*perRound])
		now := time.Now().UTC()
		for i := range batch {
			batch[i].TakenAt = now
		}
		if _, err := p.Post(ctx, batch); err != nil && ctx.Err() == nil {
			fmt.Fprintf(stderr, "demo: posting snapshots: %v\n", err)
		}
	}
}

// demoRobbery plays the theft the key broker exists to stop: alice
// publishes a protected image and shares it with bob; mallory, who is not
// a member, launches an instance of an image of her own and presents its
// identity document for alice's key. The broker refuses, and audits why.
func demoRobbery(e *env, admin *client) error {
	ctx := e.ctx
	_, alice, err := e.simProject(admin, "alice-payroll")
	if err != nil {
		return err
	}
	bobID, bob, err := e.simProject(admin, "bob-analytics")
	if err != nil {
		return err
	}
	_, mallory, err := e.simProject(admin, "mallory")
	if err != nil {
		return err
	}
	payroll, err := demoImage(ctx, alice, "payroll-db", map[string]any{"imgward_protect": "full", "visibility": "shared"})
	if err != nil {
		return err
	}
	if err := alice.call(ctx, "POST", path("v2", "images", payroll, "members"), map[string]string{"member": bobID}, nil); err != nil {
		return fmt.Errorf("sharing payroll-db: %w", err)
	}
	if err := bob.call(ctx, "PUT", path("v2", "images", payroll, "members", bobID), map[string]string{"status": "accepted"}, nil); err != nil {
		return fmt.Errorf("accepting payroll-db: %w", err)
	}
	tools, err := demoImage(ctx, mallory, "mallory-tools", map[string]any{"visibility": "private"})
	if err != nil {
		return err
	}
	// Bob's host fetches the key it is owed: released.
	if code, err := demoRelease(ctx, admin, bob, payroll, payroll); err != nil || code != http.StatusOK {
		return fmt.Errorf("the release to bob's instance: %d %v", code, err)
	}
	// Mallory's host asks for payroll-db's key with her own instance's document.
	if code, err := demoRelease(ctx, admin, mallory, tools, payroll); err != nil || code != http.StatusForbidden {
		return fmt.Errorf("mallory's release was not refused: %d %v", code, err)
	}
	return nil
}

// demoImage creates and uploads an image as owner and returns its id.
func demoImage(ctx context.Context, owner *client, name string, props map[string]any) (string, error) {
	in := map[string]any{"name": name, "disk_format": "raw", "container_format": "bare"}
	for k, v := range props {
		in[k] = v
	}
	var out struct {
		ID string `json:"id"`
	}
	if err := owner.call(ctx, "POST", "/v2/images", in, &out); err != nil {
		return "", fmt.Errorf("creating image %s: %w", name, err)
	}
	data := bytes.Repeat([]byte("imgward demo image "+name+"\n"), 64)
	resp, err := owner.do(ctx, "PUT", path("v2", "images", out.ID, "file"),
		sizedReader{bytes.NewReader(data), int64(len(data))}, http.Header{"Content-Type": {"application/octet-stream"}})
	if err != nil {
		return "", fmt.Errorf("uploading image %s: %w", name, err)
	}
	resp.Body.Close()
	return out.ID, nil
}

// demoRelease launches an instance of launch as c, then presents its
// identity document to the key broker for the key of want, and returns
// the broker's status.
func demoRelease(ctx context.Context, admin, c *client, launch, want string) (int, error) {
	var inst struct {
		Identity string `json:"identity"`
	}
	if err := c.call(ctx, "POST", "/v1/instances", map[string]string{"image_id": launch, "host": "compute-7"}, &inst); err != nil {
		return 0, fmt.Errorf("launching: %w", err)
	}
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return 0, err
	}
	jwk, err := json.Marshal(jose.JSONWebKey{Key: &priv.PublicKey})
	if err != nil {
		return 0, err
	}
	body, _ := json.Marshal(map[string]any{"identity": inst.Identity, "image_id": want, "public_key": json.RawMessage(jwk)})
	// The broker takes no token: the identity document is the credential.
	anon := *admin
	anon.token = ""
	resp, err := anon.do(ctx, "POST", "/v1/keys/release", bytes.NewReader(body), http.Header{"Content-Type": {"application/json"}})
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.Status, nil
	} else if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
