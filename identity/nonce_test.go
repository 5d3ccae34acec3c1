package identity

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"imgward/errors"
)

func TestMemNonceStore(t *testing.T) {
	ctx := context.Background()
	now := t0
	s := NewMemNonceStore(3)
	s.now = func() time.Time { return now }

	if err := s.Use(ctx, "a", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.Use(ctx, "a", t0.Add(time.Hour)); !errors.Is(errors.Conflict, err) {
		t.Errorf("second Use: %v, want kind Conflict", err)
	}
	s.Use(ctx, "b", t0.Add(2*time.Minute))
	s.Use(ctx, "c", t0.Add(3*time.Minute))
	if err := s.Use(ctx, "d", t0.Add(time.Minute)); !errors.Is(errors.Unavailable, err) {
		t.Errorf("Use of a full store: %v, want kind Unavailable", err)
	}

	now = t0.Add(time.Minute) // a has expired, b and c have not
	if err := s.Use(ctx, "d", t0.Add(time.Hour)); err != nil {
		t.Errorf("Use after an expiry: %v", err)
	}
	if err := s.Use(ctx, "b", t0.Add(time.Hour)); !errors.Is(errors.Conflict, err) {
		t.Errorf("Use of an unexpired nonce: %v, want kind Conflict", err)
	}
	now = t0.Add(2 * time.Hour)
	if err := s.Use(ctx, "a", now.Add(time.Minute)); err != nil {
		t.Errorf("Use of an expired nonce: %v", err)
	}
	if n := s.Len(); n != 1 {
		t.Errorf("store holds %d nonces after expiry, want 1", n)
	}
}

func TestMemNonceStoreConcurrent(t *testing.T) {
	s := NewMemNonceStore(0)
	exp := time.Now().Add(time.Hour)
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := map[string]int{}
	for g := range 8 {
		wg.Go(func() {
			for n := range 100 {
				nonce := fmt.Sprint(n)
				if err := s.Use(context.Background(), nonce, exp); err == nil {
					mu.Lock()
					won[nonce]++
					mu.Unlock()
				} else if !errors.Is(errors.Conflict, err) {
					t.Errorf("goroutine %d: %v", g, err)
				}
			}
		})
	}
	wg.Wait()
	for n := range 100 {
		if c := won[fmt.Sprint(n)]; c != 1 {
			t.Errorf("nonce %d used %d times, want once", n, c)
		}
	}
}
