package main

import (
	"bytes"
	"fmt"
	"net/http"

	"imgward/introspect"
	"imgward/introspect/sim"
	"imgward/snapshot"
)

// simTenants is how many tenant projects launch the simulated instances.
const simTenants = 5

// feed builds the simulated cloud m on the server with the admin's client
// e.api, renames m's instances to the server's ids and posts the snapshots.
func (e *env) feed(m *sim.Manifest, snaps []snapshot.Snapshot) error {
	admin := e.api
	users := map[string]*client{} // publisher name → its user's client
	for i := range m.Publishers {
		p := &m.Publishers[i]
		id, c, err := e.simProject(admin, p.Name)
		if err != nil {
			return err
		}
		p.ProjectID, users[p.Name] = id, c
	}
	var tenants []*client
	for k := range simTenants {
		_, c, err := e.simProject(admin, fmt.Sprintf("sim-tenant-%d", k+1))
		if err != nil {
			return err
		}
		tenants = append(tenants, c)
	}
	imageID := map[string]string{}
	for i := range m.Images {
		img := &m.Images[i]
		id, err := e.simImage(admin, users[img.Publisher], img)
		if err != nil {
			return err
		}
		img.ID, imageID[img.Name] = id, id
	}
	ids := map[string]string{}
	for i := range m.Instances {
		in := &m.Instances[i]
		var out struct {
			ID string `json:"id"`
		}
		body := map[string]string{"image_id": imageID[in.Image], "host": "sim-host"}
		if err := tenants[i%len(tenants)].call(e.ctx, "POST", "/v1/instances", body, &out); err != nil {
			return fmt.Errorf("launching an instance of %s: %w", in.Image, err)
		}
		ids[in.ID], in.ID = out.ID, out.ID
	}
	idMap(snaps, ids)
	p := &introspect.Poster{URL: admin.base.String(), Token: admin.token, Client: admin.hc}
	n, err := p.Post(e.ctx, snaps)
	if err != nil {
		return postError(err)
	}
	fmt.Fprintf(e.stderr, "sim: %d publishers, %d images, %d instances, %d snapshots posted\n",
		len(m.Publishers), len(m.Images), len(m.Instances), n)
	return nil
}

// simProject creates a project and a member user of it, and returns the
// project's id and a client with the user's token.
func (e *env) simProject(admin *client, name string) (string, *client, error) {
	var proj struct {
		ID string `json:"id"`
	}
	if err := admin.call(e.ctx, "POST", "/v1/projects", map[string]string{"name": name}, &proj); err != nil {
		return "", nil, fmt.Errorf("creating project %s: %w", name, err)
	}
	var user struct {
		Token string `json:"token"`
	}
	in := map[string]string{"name": name + "-user", "project_id": proj.ID, "role": "member"}
	if err := admin.call(e.ctx, "POST", "/v1/users", in, &user); err != nil {
		return "", nil, fmt.Errorf("creating a user of %s: %w", name, err)
	}
	c := *admin
	c.token = user.Token
	return proj.ID, &c, nil
}

// simImage creates, uploads and publishes an image as its publisher.
func (e *env) simImage(admin, owner *client, img *sim.Image) (string, error) {
	var out struct {
		ID string `json:"id"`
	}
	in := map[string]any{"name": img.Name, "disk_format": "raw", "container_format": "bare", "sim_role": img.Role}
	if err := owner.call(e.ctx, "POST", "/v2/images", in, &out); err != nil {
		return "", fmt.Errorf("creating image %s: %w", img.Name, err)
	}
	data := []byte("imgward simulated image " + img.Name + "\n")
	resp, err := owner.do(e.ctx, "PUT", path("v2", "images", out.ID, "file"),
		sizedReader{bytes.NewReader(data), int64(len(data))}, http.Header{"Content-Type": {"application/octet-stream"}})
	if err != nil {
		return "", fmt.Errorf("uploading image %s: %w", img.Name, err)
	}
	resp.Body.Close()
	patch := []patchOp{{"replace", "/visibility", "public"}}
	const ctype = "application/openstack-images-v2.1-json-patch"
	if err := admin.callType(e.ctx, "PATCH", path("v2", "images", out.ID), ctype, patch, nil); err != nil {
		return "", fmt.Errorf("publishing image %s: %w", img.Name, err)
	}
	return out.ID, nil
}
