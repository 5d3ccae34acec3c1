package catalog

import (
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf8"

	"imgward"
	"imgward/errors"
)

// The formats Glance accepts by default.
var (
	diskFormats      = []string{"ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop"}
	containerFormats = []string{"ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed"}
)

// DiskFormats returns the disk formats an image may have.
func DiskFormats() []string { return slices.Clone(diskFormats) }

// ContainerFormats returns the container formats an image may have.
func ContainerFormats() []string { return slices.Clone(containerFormats) }

// readOnly are the attributes no request may set: the server derives them.
var readOnly = map[string]bool{
	"status": true, "checksum": true, "size": true, "virtual_size": true,
	"created_at": true, "updated_at": true, "os_hash_algo": true, "os_hash_value": true,
	"file": true, "self": true, "schema": true, "locations": true, "direct_url": true,
	"os_hidden": true, "stores": true,
}

// reservedPrefixes name properties that Glance, or imgward itself, owns.
var reservedPrefixes = []string{"os_glance", "imgward_"}

const (
	maxPropertyKey   = 255
	maxPropertyValue = 65535
	maxTag           = 255
)

// Op is one operation of a JSON-patch update (Glance's
// application/openstack-images-v2.1-json-patch): add, replace or remove
// of a top-level attribute.
type Op struct {
	Op    string
	Path  string // a JSON pointer of one segment, such as "/name"
	Value any    // decoded JSON; absent for remove
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func invalid(msg string) error { return errors.E(errors.Invalid, errors.Msg(msg)) }

func forbidden(msg string) error { return errors.E(errors.Permission, errors.Msg(msg)) }

// setAttr sets one attribute on img, checking type, range and who may set
// it. creating is true during CreateImage.
func (s *Service) setAttr(p imgward.Principal, img *imgward.Image, key string, v any, creating bool) error {
	switch key {
	case "id":
		id, ok := v.(string)
		if !creating {
			return forbidden("attribute id is read-only")
		}
		if !ok || !validUUID(id) {
			return invalid("id must be a UUID")
		}
		img.ID = imgward.ImageID(strings.ToLower(id))
	case "owner":
		o, ok := v.(string)
		if !creating || !p.IsAdmin() {
			return forbidden("only an admin may set owner, when creating an image")
		}
		if !ok || o == "" {
			return invalid("owner must be a project id")
		}
		img.Owner = imgward.ProjectID(o)
	case "name":
		if v == nil {
			img.Name = ""
			return nil
		}
		n, ok := v.(string)
		if !ok || len(n) > 255 || !utf8.ValidString(n) {
			return invalid("name must be a string of at most 255 characters")
		}
		if hasControl(n) {
			return invalid("name must not hold control characters")
		}
		img.Name = n
	case "visibility":
		vis, ok := v.(string)
		if !ok || !imgward.Visibility(vis).Valid() {
			return invalid("visibility must be public, private, shared or community")
		}
		if vis == string(imgward.Public) && !p.IsAdmin() && img.Visibility != imgward.Public {
			return forbidden("only an admin may make an image public")
		}
		img.Visibility = imgward.Visibility(vis)
	case "protected":
		b, ok := v.(bool)
		if !ok {
			return invalid("protected must be true or false")
		}
		img.Protected = b
	case "disk_format", "container_format":
		return setFormat(img, key, v)
	case "min_disk", "min_ram":
		n, err := nonNegative(key, v)
		if err != nil {
			return err
		}
		if key == "min_disk" {
			img.MinDisk = n
		} else {
			img.MinRAM = n
		}
	case "tags":
		return s.setTags(img, v)
	case PropProtect:
		return s.setProtect(img, v, creating)
	default:
		return s.setProperty(img, key, v)
	}
	return nil
}

func setFormat(img *imgward.Image, key string, v any) error {
	if img.Status != imgward.StatusQueued {
		return forbidden(key + " can be changed only while the image is queued")
	}
	allowed := diskFormats
	dst := &img.DiskFormat
	if key == "container_format" {
		allowed, dst = containerFormats, &img.ContainerFormat
	}
	if v == nil {
		*dst = ""
		return nil
	}
	f, ok := v.(string)
	if !ok || !slices.Contains(allowed, f) {
		return invalid(key + " must be one of " + strings.Join(allowed, ", "))
	}
	*dst = f
	return nil
}

func nonNegative(key string, v any) (int, error) {
	var n int64
	switch x := v.(type) {
	case json.Number:
		i, err := x.Int64()
		if err != nil {
			return 0, invalid(key + " must be a whole number")
		}
		n = i
	case float64:
		if x != float64(int64(x)) {
			return 0, invalid(key + " must be a whole number")
		}
		n = int64(x)
	case int:
		n = int64(x)
	default:
		return 0, invalid(key + " must be a whole number")
	}
	if n < 0 || n > 1<<31-1 {
		return 0, invalid(key + " must be between 0 and 2147483647")
	}
	return int(n), nil
}

func (s *Service) setTags(img *imgward.Image, v any) error {
	list, ok := v.([]any)
	if !ok {
		return invalid("tags must be a list of strings")
	}
	tags := []string{}
	for _, t := range list {
		str, ok := t.(string)
		if !ok || str == "" || len(str) > maxTag || !utf8.ValidString(str) || hasControl(str) {
			return invalid("each tag must be a string of 1 to 255 characters, without control characters")
		}
		if !slices.Contains(tags, str) {
			tags = append(tags, str)
		}
	}
	if len(tags) > s.limits.Tags {
		return errors.E(errors.TooLarge, errors.Msg("too many tags"))
	}
	img.Tags = tags
	return nil
}

func checkPropertyKey(key string) error {
	if readOnly[key] {
		return forbidden("attribute " + key + " is read-only")
	}
	for _, pre := range reservedPrefixes {
		if strings.HasPrefix(key, pre) {
			return forbidden("properties starting with " + pre + " are reserved")
		}
	}
	if key == "" || len(key) > maxPropertyKey || !utf8.ValidString(key) {
		return invalid("property names must be 1 to 255 characters")
	}
	return nil
}

func (s *Service) setProperty(img *imgward.Image, key string, v any) error {
	if err := checkPropertyKey(key); err != nil {
		return err
	}
	str, ok := v.(string)
	if !ok {
		return invalid("property " + key + " must be a string")
	}
	if len(str) > maxPropertyValue || !utf8.ValidString(str) {
		return invalid("property " + key + " is too long or not UTF-8")
	}
	if _, exists := img.Properties[key]; !exists && len(img.Properties) >= s.limits.Properties {
		return errors.E(errors.TooLarge, errors.Msg("too many properties"))
	}
	img.Properties[key] = str
	return nil
}

// applyOp applies one patch operation to img.
func (s *Service) applyOp(p imgward.Principal, img *imgward.Image, o Op) error {
	key, err := pointerKey(o.Path)
	if err != nil {
		return err
	}
	switch o.Op {
	case "add":
		return s.setAttr(p, img, key, o.Value, false)
	case "replace":
		if !isCore(key) {
			if _, ok := img.Properties[key]; !ok {
				return errors.E(errors.Conflict, errors.Msg("property "+key+" does not exist"))
			}
		}
		return s.setAttr(p, img, key, o.Value, false)
	case "remove":
		if key == "tags" {
			img.Tags = []string{}
			return nil
		}
		if isCore(key) {
			return forbidden("attribute " + key + " cannot be removed")
		}
		if err := checkPropertyKey(key); err != nil {
			return err
		}
		if _, ok := img.Properties[key]; !ok {
			return errors.E(errors.Conflict, errors.Msg("property "+key+" does not exist"))
		}
		delete(img.Properties, key)
		return nil
	}
	return invalid(`op must be "add", "replace" or "remove"`)
}

func isCore(key string) bool {
	switch key {
	case "id", "owner", "name", "visibility", "protected", "disk_format", "container_format",
		"min_disk", "min_ram", "tags":
		return true
	}
	return readOnly[key]
}

// pointerKey decodes a one-segment JSON pointer (RFC 6901).
func pointerKey(path string) (string, error) {
	if !strings.HasPrefix(path, "/") || strings.Count(path, "/") != 1 || len(path) < 2 {
		return "", invalid("path must name one top-level attribute, such as /name")
	}
	key := strings.ReplaceAll(strings.ReplaceAll(path[1:], "~1", "/"), "~0", "~")
	return key, nil
}
