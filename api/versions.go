package api

import (
	"net/http"

	"imgward"
)

// glanceVersions are the Image API versions imgward answers to. It stops at
// v2.5: v2.6 adds interoperable import, v2.7 hidden images and v2.8 several
// stores, which imgward does not offer, and a client reads the highest
// version as a promise of them.
var glanceVersions = []string{"v2.5", "v2.4", "v2.3", "v2.2", "v2.1", "v2.0"}

// versions answers version discovery at /, /versions and /v2 as Glance does:
// 300 Multiple Choices with each version and a link to its root, so that
// glanceclient, openstackclient and keystoneauth find /v2 from an endpoint
// given without it. It needs no token, as in Glance.
func (s *Server) versions(w http.ResponseWriter, r *http.Request) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	href := scheme + "://" + r.Host + "/v2/"
	list := make([]map[string]any, len(glanceVersions))
	for i, v := range glanceVersions {
		status := "SUPPORTED"
		if i == 0 {
			status = "CURRENT"
		}
		list[i] = map[string]any{"id": v, "status": status,
			"links": []map[string]string{{"rel": "self", "href": href}}}
	}
	writeJSON(w, http.StatusMultipleChoices, map[string]any{"versions": list})
}

// importInfo answers /v2/info/import as Glance does with no import method
// enabled: an empty list, so that clients fall back to upload.
func (s *Server) importInfo(w http.ResponseWriter, r *http.Request, _ imgward.Principal) {
	writeJSON(w, http.StatusOK, map[string]any{"import-methods": map[string]any{
		"description": "Import methods available.", "type": "array", "value": []string{}}})
}

// storesInfo answers /v2/info/stores as Glance does without multiple
// stores: 404, which clients read as "one default store".
func (s *Server) storesInfo(w http.ResponseWriter, r *http.Request, _ imgward.Principal) {
	writeError(w, http.StatusNotFound, http.StatusText(http.StatusNotFound),
		"Multi backend is not supported at this site.")
}
