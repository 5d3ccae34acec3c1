package api

import (
	"net/http"

	"imgward"
	"imgward/catalog"
)

// The JSON schemas of /v2/schemas, as Glance publishes them: glanceclient
// builds its command options and validates what it sends from the image
// schema. They describe what imgward keeps; custom properties are strings,
// and the imgward_* attributes say which of them the server sets.

func str(desc string, extra ...any) map[string]any {
	m := map[string]any{"type": "string", "description": desc}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i].(string)] = extra[i+1]
	}
	return m
}

func nullable(t string, desc string, readOnly bool) map[string]any {
	m := map[string]any{"type": []any{"null", t}, "description": desc}
	if readOnly {
		m["readOnly"] = true
	}
	return m
}

func enum(desc string, values []string, null bool) map[string]any {
	vs := make([]any, 0, len(values)+1)
	t := any("string")
	if null {
		vs = append(vs, nil)
		t = []any{"null", "string"}
	}
	for _, v := range values {
		vs = append(vs, v)
	}
	return map[string]any{"type": t, "description": desc, "enum": vs}
}

const uuidPattern = "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$"

func imageSchema() map[string]any {
	ro := func(m map[string]any) map[string]any { m["readOnly"] = true; return m }
	props := map[string]any{
		"id":               str("An identifier for the image", "pattern", uuidPattern),
		"name":             map[string]any{"type": []any{"null", "string"}, "description": "Descriptive name for the image; no control characters", "maxLength": 255},
		"status":           ro(enum("Status of the image", []string{"queued", "saving", "active", "killed"}, false)),
		"visibility":       enum("Scope of image accessibility", []string{"community", "public", "private", "shared"}, false),
		"protected":        map[string]any{"type": "boolean", "description": "If true, image will not be deletable."},
		"os_hidden":        ro(map[string]any{"type": "boolean", "description": "Always false: imgward hides no image from listings."}),
		"checksum":         nullable("string", "md5 hash of image contents.", true),
		"os_hash_algo":     nullable("string", "Algorithm of os_hash_value: sha512.", true),
		"os_hash_value":    nullable("string", "Hexdigest of the image contents using the algorithm of os_hash_algo.", true),
		"owner":            nullable("string", "Owner of the image (a project id); only an admin may set it, at creation.", false),
		"size":             nullable("integer", "Size of image file in bytes", true),
		"virtual_size":     nullable("integer", "Virtual size of image in bytes", true),
		"container_format": enum("Format of the container", catalog.ContainerFormats(), true),
		"disk_format":      enum("Format of the disk", catalog.DiskFormats(), true),
		"created_at":       ro(str("Date and time of image registration")),
		"updated_at":       ro(str("Date and time of the last image modification")),
		"tags": map[string]any{"type": "array", "description": "List of strings related to the image",
			"items": map[string]any{"type": "string", "maxLength": 255}},
		"min_ram":  map[string]any{"type": "integer", "description": "Amount of ram (in MB) required to boot image.", "minimum": 0},
		"min_disk": map[string]any{"type": "integer", "description": "Amount of disk space (in GB) required to boot image.", "minimum": 0},
		"self":     ro(str("An image self url")),
		"file":     ro(str("An image file url")),
		"schema":   ro(str("An image schema url")),
		catalog.PropProtect: str("imgward: how the data is kept at rest; set only when the image is created",
			"enum", []any{"none", "full", "sensitive", "luks"}),
	}
	return map[string]any{
		"name": "image", "properties": props,
		"additionalProperties": map[string]any{"type": "string"},
		"links": []map[string]string{
			{"rel": "self", "href": "{self}"}, {"rel": "enclosure", "href": "{file}"},
			{"rel": "describedby", "href": "{schema}"},
		},
	}
}

func memberSchema() map[string]any {
	ro := func(m map[string]any) map[string]any { m["readOnly"] = true; return m }
	return map[string]any{
		"name": "member",
		"properties": map[string]any{
			"created_at": ro(str("Date and time of image member creation")),
			"image_id":   ro(str("An identifier for the image", "pattern", uuidPattern)),
			"member_id":  ro(str("An identifier for the image member (tenantId)")),
			"status":     enum("The status of this image member; only an accepted member may use the image", []string{string(imgward.MemberPending), string(imgward.MemberAccepted), string(imgward.MemberRejected)}, false),
			"updated_at": ro(str("Date and time of last modification of image member")),
			"schema":     ro(str("An image member schema url")),
		},
	}
}

// collection is the schema of a listing of entity under key.
func collection(name, key string, entity map[string]any, links bool) map[string]any {
	m := map[string]any{
		"name":       name,
		"properties": map[string]any{key: map[string]any{"type": "array", "items": entity}, "schema": str("")},
		"links":      []map[string]string{{"rel": "describedby", "href": "{schema}"}},
	}
	if links {
		props := m["properties"].(map[string]any)
		props["first"], props["next"] = str(""), str("")
		m["links"] = []map[string]string{{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"},
			{"rel": "describedby", "href": "{schema}"}}
	}
	return m
}

func (s *Server) schema(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	var v map[string]any
	switch r.PathValue("name") {
	case "image":
		v = imageSchema()
	case "images":
		v = collection("images", "images", imageSchema(), true)
	case "member":
		v = memberSchema()
	case "members":
		v = collection("members", "members", memberSchema(), false)
	default:
		writeError(w, http.StatusNotFound, http.StatusText(http.StatusNotFound), "no schema "+r.PathValue("name"))
		return
	}
	writeJSON(w, http.StatusOK, v)
}
