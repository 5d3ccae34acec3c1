package keystone

import (
	"testing"
	"time"
)

// FuzzParseToken feeds Keystone's token document parser arbitrary bytes:
// it must not panic, and what it accepts is a project-scoped identity with
// an expiry.
func FuzzParseToken(f *testing.F) {
	f.Add([]byte(`{"token":{"expires_at":"2030-01-01T00:00:00.000000Z","user":{"id":"u","name":"n"},"project":{"id":"p","name":"q"},"roles":[{"id":"r","name":"member"}]}}`))
	f.Add([]byte(`{"token":{"expires_at":"2030-01-01T00:00:00Z","user":{"id":"u"}}}`))
	f.Add([]byte(`{"token":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		id, err := parseToken(b)
		if err != nil {
			return
		}
		if id.UserID == "" || id.ProjectID == "" || id.ExpiresAt.Equal(time.Time{}) {
			t.Fatalf("accepted %q as %+v", b, id)
		}
	})
}
