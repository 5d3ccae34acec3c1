package broker

import (
	"fmt"
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

func TestSpentNonces(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	var s spentNonces
	s.add("a", t0.Add(time.Minute), t0)
	for _, tc := range []struct {
		nonce string
		at    time.Time
		want  bool
	}{
		{"a", t0, true},
		{"a", t0.Add(time.Minute - 1), true},
		{"a", t0.Add(time.Minute), false}, // expired: the store decides again
		{"b", t0, false},
	} {
		if got := s.has(tc.nonce, tc.at); got != tc.want {
			t.Errorf("has(%q, %v) = %v, want %v", tc.nonce, tc.at.Sub(t0), got, tc.want)
		}
	}
	// Full: the expired go first, and the live ones stay.
	for i := range maxSpent - 1 {
		s.add(fmt.Sprint("old", i), t0.Add(time.Second), t0)
	}
	later := t0.Add(2 * time.Second)
	s.add("new", t0.Add(time.Hour), later)
	if !s.has("a", later) || !s.has("new", later) || len(s.m) != 2 {
		t.Errorf("after a purge: a %v, new %v, %d remembered; want both, 2", s.has("a", later), s.has("new", later), len(s.m))
	}
}
