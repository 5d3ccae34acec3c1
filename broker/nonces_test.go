package broker

import (
	"path/filepath"
	"testing"
	"time"

	"imgward/errors"
	"imgward/identity"
	"imgward/store/sqlite"
)

// TestNonces checks the Store-backed NonceStore as identity.Redeem uses
// it: once per nonce until it expires.
func TestNonces(t *testing.T) {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "imgward.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	var n identity.NonceStore = &Nonces{Store: st, Now: func() time.Time { return now }}
	if err := n.Use(t.Context(), "abc", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := n.Use(t.Context(), "abc", now.Add(time.Minute)); !errors.Is(errors.Conflict, err) {
		t.Errorf("second Use: %v, want Conflict", err)
	}
	now = now.Add(2 * time.Minute)
	if err := n.Use(t.Context(), "abc", now.Add(time.Minute)); err != nil {
		t.Errorf("Use after expiry: %v", err)
	}
}
