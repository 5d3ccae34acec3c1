package catalog

import (
	"strings"
	"testing"

	"imgward"
)

// TestAccess is the launch-permission table: who may see and who may use
// an image, by visibility, ownership and membership.
func TestAccess(t *testing.T) {
	member := func(s imgward.MemberStatus) *imgward.Member { return &imgward.Member{Status: s} }
	tests := []struct {
		name     string
		vis      imgward.Visibility
		owner    bool
		admin    bool
		member   *imgward.Member
		see, use bool
		why      string
	}{
		{"owner private", imgward.Private, true, false, nil, true, true, ""},
		{"stranger private", imgward.Private, false, false, nil, false, false, "image is private"},
		{"admin private", imgward.Private, false, true, nil, true, false, "image is private"},
		{"stranger public", imgward.Public, false, false, nil, true, true, ""},
		{"stranger community", imgward.Community, false, false, nil, true, true, ""},
		{"stranger shared", imgward.Shared, false, false, nil, false, false, "not a member of the image"},
		{"pending member", imgward.Shared, false, false, member(imgward.MemberPending), true, false, "membership is pending, not accepted"},
		{"rejected member", imgward.Shared, false, false, member(imgward.MemberRejected), true, false, "membership is rejected, not accepted"},
		{"accepted member", imgward.Shared, false, false, member(imgward.MemberAccepted), true, true, ""},
		{"owner shared", imgward.Shared, true, false, nil, true, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := access{img: &imgward.Image{Visibility: tt.vis}, owner: tt.owner, admin: tt.admin, member: tt.member}
			if got := a.see(); got != tt.see {
				t.Errorf("see = %v, want %v", got, tt.see)
			}
			use, why := a.use()
			if use != tt.use || why != tt.why {
				t.Errorf("use = %v %q, want %v %q", use, why, tt.use, tt.why)
			}
		})
	}
}

func TestUUID(t *testing.T) {
	for range 100 {
		if id := newUUID(); !validUUID(id) || id[14] != '4' || !strings.ContainsRune("89ab", rune(id[19])) {
			t.Fatalf("bad uuid %s", id)
		}
	}
	for _, bad := range []string{"", "3b8e1c54-6a0e-4f11-9a7c-2f1a4f6f0c1", "3b8e1c54x6a0e-4f11-9a7c-2f1a4f6f0c11", "zb8e1c54-6a0e-4f11-9a7c-2f1a4f6f0c11"} {
		if validUUID(bad) {
			t.Errorf("validUUID(%q) = true", bad)
		}
	}
}

func TestPointerKey(t *testing.T) {
	tests := []struct {
		path, key string
		ok        bool
	}{
		{"/name", "name", true},
		{"/a~1b", "a/b", true},
		{"/a~0b", "a~b", true},
		{"name", "", false},
		{"/", "", false},
		{"/a/b", "", false},
	}
	for _, tt := range tests {
		key, err := pointerKey(tt.path)
		if (err == nil) != tt.ok || key != tt.key {
			t.Errorf("pointerKey(%q) = %q, %v", tt.path, key, err)
		}
	}
}
