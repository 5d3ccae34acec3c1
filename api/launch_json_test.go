package api

import (
	"encoding/json"
	"testing"
	"time"

	"imgward"
)

// TestLaunchJSON checks that a launch answers with the same bytes as
// instanceJSON, with the identity document added, would.
func TestLaunchJSON(t *testing.T) {
	in := &imgward.Instance{ID: "i-0123456789abcdef", ImageID: "6f1c7a52-3b9e-4c1d-8a2f-0e5d4c3b2a19",
		ProjectID: "0123456789abcdef0123456789abcdef", UserID: "fedcba9876543210fedcba9876543210",
		Host: "hv-1", State: imgward.InstanceRunning, CreatedAt: time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)}
	for _, tok := range []string{"", "eyJ.eyJ.sig"} {
		m := instanceJSON(in)
		l := &launchJSON{CreatedAt: in.CreatedAt.Format(time.RFC3339Nano), Host: in.Host, ID: in.ID,
			ImageID: in.ImageID, ProjectID: in.ProjectID, State: in.State, UserID: in.UserID, Identity: tok}
		if tok != "" {
			m["identity"] = tok
		}
		want, _ := json.Marshal(m)
		got, _ := json.Marshal(l)
		if string(got) != string(want) {
			t.Errorf("launch answers\n%s\nwant\n%s", got, want)
		}
	}
}
