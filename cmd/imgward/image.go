package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

var imageNoun = noun{
	name:    "image",
	summary: "the image catalog (Glance v2): records, data, sharing",
	commands: []command{
		{"create", imageCreateUsage, imageCreate},
		{"upload", imageUploadUsage, imageUpload},
		{"download", imageDownloadUsage, imageDownload},
		{"list", imageListUsage, imageList},
		{"show", imageShowUsage, imageShow},
		{"update", imageUpdateUsage, imageUpdate},
		{"delete", imageDeleteUsage, imageDelete},
		{"share", imageShareUsage, imageShare},
		{"unshare", imageUnshareUsage, imageUnshare},
		{"members", imageMembersUsage, imageMembers},
		{"accept", imageAcceptUsage, imageAccept},
		{"reject", imageRejectUsage, imageReject},
		{"fetch", imageFetchUsage, imageFetch},
		{"role", imageRoleUsage, imageRole},
	},
}

// imageOrder is the order in which image show lists the core attributes;
// custom properties follow, sorted. The API links are left out.
var (
	imageOrder = []string{"id", "name", "status", "visibility", "owner", "protected", "os_hidden",
		"disk_format", "container_format", "min_disk", "min_ram", "size", "virtual_size",
		"checksum", "os_hash_algo", "os_hash_value", "tags", "created_at", "updated_at"}
	imageLinks = []string{"self", "file", "schema"}
)

func (e *env) emitImage(raw json.RawMessage) error {
	return e.emitObject(raw, imageOrder, imageLinks...)
}

const imageCreateUsage = `usage: imgward image create NAME [flags] [--output table|json]

Create an image record in status queued; upload its data with
imgward image upload. Prints the image.

Flags:
  --disk-format F       raw, qcow2, vmdk, vhd, vhdx, vdi, iso, ploop, ami, ari, aki (default qcow2)
  --container-format F  bare, ovf, ova, docker, compressed, ami, ari, aki (default bare)
  --visibility V        private, shared, public (admin) or community (default shared, as Glance)
  --property K=V        a custom property; repeat for more
  --tag T               a tag; repeat for more
  --min-disk N          GiB of disk the image needs (default 0)
  --min-ram N           MiB of memory the image needs (default 0)
  --protected           refuse deletion until unset
  --protect MODE        none (default), full, sensitive or luks: keep the
                        data only sealed (full), seal only the sensitive
                        files of a rootfs tar (sensitive; imgward scan lists
                        them), or take a qcow2 disk you encrypt with LUKS
                        (luks; imgward disk encrypt), under a key the server
                        releases to bound instances only (imgward image
                        fetch); set at creation for good
`

func imageCreate(e *env, args []string) error {
	fs := e.flags("image create")
	disk := fs.String("disk-format", "qcow2", "")
	container := fs.String("container-format", "bare", "")
	vis := fs.String("visibility", "shared", "")
	var props, tags multiFlag
	fs.Var(&props, "property", "")
	fs.Var(&tags, "tag", "")
	minDisk := fs.Uint("min-disk", 0, "")
	minRAM := fs.Uint("min-ram", 0, "")
	protected := fs.Bool("protected", false, "")
	protect := fs.String("protect", "none", "")
	ops, err := parse(fs, args, "NAME")
	if err != nil {
		return err
	}
	switch *protect {
	case "none", "full", "sensitive", "luks":
	default:
		return usageError(fmt.Sprintf("--protect %q: want none, full, sensitive or luks", *protect))
	}
	if err := checkVisibility(*vis); err != nil {
		return err
	}
	in := map[string]any{
		"name": ops[0], "disk_format": *disk, "container_format": *container, "visibility": *vis,
		"min_disk": *minDisk, "min_ram": *minRAM, "protected": *protected,
	}
	if *protect != "none" {
		in["imgward_protect"] = *protect
	}
	if len(tags) > 0 {
		in["tags"] = []string(tags)
	}
	for _, p := range props {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return usageError(fmt.Sprintf("--property %q: want KEY=VALUE", p))
		}
		if _, taken := in[k]; taken {
			return usageError(fmt.Sprintf("--property %s: %s is an attribute; use its own flag", k, k))
		}
		in[k] = v
	}
	var raw json.RawMessage
	if err := e.api.call(e.ctx, "POST", "/v2/images", in, &raw); err != nil {
		return err
	}
	return e.emitImage(raw)
}

func checkVisibility(v string) error {
	switch v {
	case "private", "shared", "public", "community":
		return nil
	}
	return usageError(fmt.Sprintf("--visibility %q: want private, shared, public or community", v))
}

const imageListUsage = `usage: imgward image list [flags] [--output table|json]

List the images the caller may see, following the server's pages to the
end. Without flags, as Glance: public images, the project's own, and
shared images the project accepted.

Flags:
  --visibility V      only private, shared, public or community images
  --member-status S   shared images by the project's membership: pending,
                      accepted (default), rejected or all
  --owner PROJECT     only images owned by PROJECT
  --name N            only images named N
  --status S          only images in status S (queued, saving, active, killed)
`

func imageList(e *env, args []string) error {
	fs := e.flags("image list")
	filters := []string{"visibility", "member-status", "owner", "name", "status"}
	vals := make([]*string, len(filters))
	for i, f := range filters {
		vals[i] = fs.String(f, "", "")
	}
	if _, err := parse(fs, args); err != nil {
		return err
	}
	q := url.Values{}
	for i, f := range filters {
		if *vals[i] != "" {
			q.Set(strings.ReplaceAll(f, "-", "_"), *vals[i])
		}
	}
	ref := "/v2/images"
	if len(q) > 0 {
		ref += "?" + q.Encode()
	}
	raws, err := e.api.list(e.ctx, ref, "images")
	if err != nil {
		return err
	}
	return e.emitList(raws, []string{"ID", "NAME", "STATUS", "VISIBILITY", "OWNER", "SIZE"}, func(o object) []string {
		sz := ""
		if n, err := strconv.ParseInt(o.s("size"), 10, 64); err == nil {
			sz = size(n)
		}
		return []string{o.s("id"), o.s("name"), o.s("status"), o.s("visibility"), o.s("owner"), sz}
	})
}

const imageShowUsage = `usage: imgward image show IMAGE [--output table|json]

Show image IMAGE (an id): its attributes, then its custom properties.
`

func imageShow(e *env, args []string) error {
	ops, err := parse(e.flags("image show"), args, "IMAGE")
	if err != nil {
		return err
	}
	var raw json.RawMessage
	if err := e.api.call(e.ctx, "GET", path("v2", "images", ops[0]), nil, &raw); err != nil {
		return err
	}
	return e.emitImage(raw)
}

const imageDeleteUsage = `usage: imgward image delete IMAGE

Delete image IMAGE, its data and its members. A protected image must be
unprotected first: imgward image update IMAGE --set protected=false.
`

func imageDelete(e *env, args []string) error {
	ops, err := parse(e.bareFlags("image delete"), args, "IMAGE")
	if err != nil {
		return err
	}
	return e.api.call(e.ctx, "DELETE", path("v2", "images", ops[0]), nil, nil)
}

const imageUpdateUsage = `usage: imgward image update IMAGE [--set KEY=VALUE ...] [--unset KEY ...] [--output table|json]

Change image IMAGE with one JSON-patch request: all the changes, in the
order given, or none. Only the owner (or an admin) may change an image.

Flags:
  --set KEY=VALUE   set an attribute (name, visibility, protected, min_disk,
                    min_ram, tags, disk_format, container_format) or a custom
                    property; min_disk and min_ram take whole numbers,
                    protected true or false, tags a comma-separated list
  --unset KEY       remove a custom property (tags: remove all tags)
`

// patchOp is one operation of a Glance JSON-patch.
type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

// coreAttrs are the image attributes that always exist, set with replace.
var coreAttrs = map[string]bool{"name": true, "visibility": true, "protected": true, "min_disk": true,
	"min_ram": true, "tags": true, "disk_format": true, "container_format": true}

func imageUpdate(e *env, args []string) error {
	fs := e.flags("image update")
	var patch []patchOp
	fs.Func("set", "", func(s string) error {
		op, err := setOp(s)
		patch = append(patch, op)
		return err
	})
	fs.Func("unset", "", func(k string) error {
		if k == "" {
			return fmt.Errorf("want a property name")
		}
		patch = append(patch, patchOp{Op: "remove", Path: pointer(k)})
		return nil
	})
	ops, err := parse(fs, args, "IMAGE")
	if err != nil {
		return err
	}
	if len(patch) == 0 {
		return usageError("nothing to change: give --set KEY=VALUE or --unset KEY")
	}
	var raw json.RawMessage
	const ctype = "application/openstack-images-v2.1-json-patch"
	if err := e.api.callType(e.ctx, "PATCH", path("v2", "images", ops[0]), ctype, patch, &raw); err != nil {
		return err
	}
	return e.emitImage(raw)
}

// setOp turns KEY=VALUE into a patch operation with a value of the type
// the attribute takes.
func setOp(s string) (patchOp, error) {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return patchOp{}, fmt.Errorf("want KEY=VALUE")
	}
	op := patchOp{Op: "add", Path: pointer(k), Value: v}
	if !coreAttrs[k] {
		return op, nil
	}
	op.Op = "replace"
	switch k {
	case "min_disk", "min_ram":
		n, err := strconv.ParseUint(v, 10, 31)
		if err != nil {
			return op, fmt.Errorf("%s: want a whole number", k)
		}
		op.Value = n
	case "protected":
		b, err := strconv.ParseBool(v)
		if err != nil {
			return op, fmt.Errorf("protected: want true or false")
		}
		op.Value = b
	case "tags":
		tags := []string{}
		for t := range strings.SplitSeq(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				tags = append(tags, t)
			}
		}
		op.Value = tags
	}
	return op, nil
}

// pointer is the JSON pointer (RFC 6901) of a top-level key.
func pointer(k string) string {
	return "/" + strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1")
}

// multiFlag is a flag that may be repeated.
type multiFlag []string

func (m *multiFlag) String() string { return strings.Join(*m, ",") }

// Set implements flag.Value.
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }
