package api_test

import (
	"net/http"
	"strings"
)

func newNDJSON(url, token, key, body string) (*http.Response, error) {
	req, err := http.NewRequest("POST", url+"/v1/snapshots", strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Auth-Token", token)
	req.Header.Set("Content-Type", "application/x-ndjson")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	return http.DefaultClient.Do(req)
}
