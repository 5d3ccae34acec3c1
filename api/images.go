package api

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"imgward"
	"imgward/catalog"
	"imgward/errors"
)

// glanceTime is the timestamp format of Glance's JSON.
const glanceTime = "2006-01-02T15:04:05Z"

// The list limits Glance uses by default (limit_param_default, api_limit_max).
const (
	defaultLimit = 25
	maxLimit     = 1000
)

// imageJSON renders an image as Glance v2 does: custom properties as
// top-level string fields, unset values as null.
func imageJSON(img *imgward.Image) map[string]any {
	m := make(map[string]any, len(img.Properties)+24)
	for k, v := range img.Properties {
		m[k] = v
	}
	null := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	m["id"] = img.ID
	m["name"] = null(img.Name)
	m["status"] = img.Status
	m["visibility"] = img.Visibility
	m["owner"] = img.Owner
	m["protected"] = img.Protected
	m["os_hidden"] = false
	m["disk_format"] = null(img.DiskFormat)
	m["container_format"] = null(img.ContainerFormat)
	m["min_disk"] = img.MinDisk
	m["min_ram"] = img.MinRAM
	m["checksum"] = null(img.Checksum)
	m["os_hash_algo"] = null(img.OSHashAlgo)
	m["os_hash_value"] = null(img.OSHashValue)
	m["size"] = nil
	if img.Status == imgward.StatusActive {
		m["size"] = img.Size
	}
	m["virtual_size"] = nil
	tags := img.Tags
	if tags == nil {
		tags = []string{}
	}
	m["tags"] = tags
	m["created_at"] = img.CreatedAt.UTC().Format(glanceTime)
	m["updated_at"] = img.UpdatedAt.UTC().Format(glanceTime)
	m["self"] = "/v2/images/" + string(img.ID)
	m["file"] = "/v2/images/" + string(img.ID) + "/file"
	m["schema"] = "/v2/schemas/image"
	return m
}

func (s *Server) createImage(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	var attrs map[string]any
	if err := decode(w, r, "application/json", &attrs); err != nil {
		s.fail(w, r, err)
		return
	}
	if attrs == nil {
		s.error(w, r, errors.E(errors.Invalid, errors.Msg("body must be a JSON object")))
		return
	}
	img, err := s.cat.CreateImage(r.Context(), p, attrs)
	if err != nil {
		s.error(w, r, err)
		return
	}
	w.Header().Set("Location", "/v2/images/"+string(img.ID))
	writeJSON(w, http.StatusCreated, imageJSON(img))
}

func (s *Server) getImage(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	img, err := s.cat.Image(r.Context(), p, imgward.ImageID(r.PathValue("id")))
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, imageJSON(img))
}

func (s *Server) listImages(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	q := r.URL.Query()
	limit := defaultLimit
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			s.error(w, r, errors.E(errors.Invalid, errors.Msg("limit must be a non-negative integer")))
			return
		}
		limit = min(n, maxLimit)
	}
	f := imgward.ImageFilter{
		Visibility: imgward.Visibility(q.Get("visibility")), MemberStatus: q.Get("member_status"),
		Owner: imgward.ProjectID(q.Get("owner")), Name: q.Get("name"),
		Status: imgward.ImageStatus(q.Get("status")), Marker: imgward.ImageID(q.Get("marker")),
		Limit: limit,
	}
	imgs, err := s.cat.ListImages(r.Context(), p, f)
	if err != nil {
		s.error(w, r, err)
		return
	}
	list := jsonList(imgs, imageJSON)
	body := map[string]any{"images": list, "first": "/v2/images", "schema": "/v2/schemas/images"}
	if limit > 0 && len(imgs) == limit {
		next := url.Values{}
		for k, v := range q {
			next[k] = v
		}
		next.Set("marker", string(imgs[len(imgs)-1].ID))
		next.Set("limit", strconv.Itoa(limit))
		body["next"] = "/v2/images?" + next.Encode()
	}
	writeJSON(w, http.StatusOK, body)
}

// patchOp is one JSON-patch operation as Glance accepts it.
type patchOp struct {
	Op    string          `json:"op"`
	Path  string          `json:"path"`
	Value json.RawMessage `json:"value,omitempty"`
}

func (s *Server) updateImage(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	var raw []patchOp
	if err := decode(w, r, "application/openstack-images-v2.1-json-patch", &raw); err != nil {
		s.fail(w, r, err)
		return
	}
	ops := make([]catalog.Op, len(raw))
	for i, o := range raw {
		ops[i] = catalog.Op{Op: o.Op, Path: o.Path}
		if o.Op == "remove" {
			continue
		}
		if o.Value == nil {
			s.error(w, r, errors.E(errors.Invalid, errors.Msg("op "+o.Op+" needs a value")))
			return
		}
		if err := json.Unmarshal(o.Value, &ops[i].Value); err != nil {
			s.error(w, r, errors.E(errors.Invalid, errors.Msg("malformed value")))
			return
		}
		ops[i].Value = numbers(ops[i].Value)
	}
	img, err := s.cat.UpdateImage(r.Context(), p, imgward.ImageID(r.PathValue("id")), ops)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, imageJSON(img))
}

// numbers turns float64 values into json.Number, as decode does, so that
// the catalog sees one representation of numbers.
func numbers(v any) any {
	if f, ok := v.(float64); ok {
		return json.Number(strconv.FormatFloat(f, 'f', -1, 64))
	}
	return v
}

func (s *Server) deleteImage(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	if err := s.cat.DeleteImage(r.Context(), p, imgward.ImageID(r.PathValue("id"))); err != nil {
		s.error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) uploadImage(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	if err := requireType(r, "application/octet-stream"); err != nil {
		s.fail(w, r, errUnsupported)
		return
	}
	if r.ContentLength > s.cat.Limits().MaxImageSize {
		s.error(w, r, errors.E(errors.TooLarge, errors.Msg("image data is over the size limit")))
		return
	}
	// An upload may take long, but not stall: its body is paced by the
	// upload limits rather than by the server's timeouts.
	body := newPacedBody(w, r.Body, s.upload, time.Now)
	if _, err := s.cat.Upload(r.Context(), p, imgward.ImageID(r.PathValue("id")), body); err != nil {
		if body.err != nil {
			s.log.Info("upload ended by the upload limits", "image", r.PathValue("id"), "err", body.err)
		}
		s.error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) downloadImage(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	// ?format=sealed asks for the sealed bytes of a protected image, which
	// only its owner could otherwise receive in the clear (image fetch).
	d, err := s.cat.Download(r.Context(), p, imgward.ImageID(r.PathValue("id")), r.URL.Query().Get("format") == "sealed")
	if err != nil {
		s.error(w, r, err)
		return
	}
	if d.Body == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	defer d.Body.Close()
	http.NewResponseController(w).SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "application/octet-stream")
	if d.Sealed != "" {
		w.Header().Set("X-Imgward-Sealed", d.Sealed)
	}
	if d.MD5 != "" { // of Body: set for plaintext and LUKS disks, as stored
		w.Header().Set("Content-MD5", d.MD5)
	}
	if d.Size >= 0 {
		w.Header().Set("Content-Length", strconv.FormatInt(d.Size, 10))
	}
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, d.Body); err != nil {
		s.log.Info("download broke off", "image", d.Image.ID, "err", err)
	}
}
