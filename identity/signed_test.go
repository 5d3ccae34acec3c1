package identity

import (
	"context"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"imgward/errors"
)

// flipAt returns tok with the byte at j changed to another base64url
// character.
func flipAt(tok string, j int) string { return tok[:j] + flip(tok[j:]) }

// TestSignedCache checks, case by case, which tokens hit the cache of
// signed documents and that Verify answers as it must either way.
func TestSignedCache(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		// setup issues and returns the token presented, and the time
		setup   func(t *testing.T, i *Issuer) (string, time.Time)
		hit     bool   // the token is in the cache when presented
		wantMsg string // "" when Verify must accept
	}{
		{name: "hit", hit: true, setup: func(t *testing.T, i *Issuer) (string, time.Time) {
			return issue(t, i), t0.Add(time.Minute)
		}},
		{name: "miss: issued by another issuer", setup: func(t *testing.T, i *Issuer) (string, time.Time) {
			other, _ := newIssuer(t)
			return issue(t, other), t0
		}, wantMsg: "unknown identity signing key"},
		{name: "miss: evicted, verified by signature", setup: func(t *testing.T, i *Issuer) (string, time.Time) {
			i.signed = newSignedCache(2)
			tok := issue(t, i)
			issue(t, i)
			issue(t, i)
			return tok, t0
		}},
		{name: "hit: key rotated, not retired", hit: true, setup: func(t *testing.T, i *Issuer) (string, time.Time) {
			tok := issue(t, i)
			if _, err := i.Rotate(ctx); err != nil {
				t.Fatal(err)
			}
			return tok, t0
		}},
		{name: "hit: key retired", hit: true, setup: func(t *testing.T, i *Issuer) (string, time.Time) {
			tok := issue(t, i)
			old := i.Keys().Keys[0].KeyID
			if _, err := i.Rotate(ctx); err != nil {
				t.Fatal(err)
			}
			if err := i.Retire(ctx, old); err != nil {
				t.Fatal(err)
			}
			return tok, t0
		}, wantMsg: "unknown identity signing key"},
		{name: "hit: expired", hit: true, setup: func(t *testing.T, i *Issuer) (string, time.Time) {
			return issue(t, i), t0.Add(DefaultTTL + ClockSkew)
		}, wantMsg: "identity document expired"},
		{name: "hit: not yet valid", hit: true, setup: func(t *testing.T, i *Issuer) (string, time.Time) {
			return issue(t, i), t0.Add(-ClockSkew - time.Second)
		}, wantMsg: "identity document not yet valid"},
		{name: "miss: dropped when expired", setup: func(t *testing.T, i *Issuer) (string, time.Time) {
			tok := issue(t, i)
			d := sampleDoc()
			if _, err := i.Issue(&d, t0.Add(DefaultTTL+ClockSkew)); err != nil {
				t.Fatal(err)
			}
			return tok, t0
		}},
		{name: "miss: redeemed", setup: func(t *testing.T, i *Issuer) (string, time.Time) {
			tok := issue(t, i)
			Spent(i, tok)
			return tok, t0
		}},
		{name: "miss: payload one byte different", setup: func(t *testing.T, i *Issuer) (string, time.Time) {
			tok := issue(t, i)
			return flipAt(tok, strings.IndexByte(tok, '.')+10), t0
		}, wantMsg: "bad identity document signature"},
		{name: "miss: signature one byte different", setup: func(t *testing.T, i *Issuer) (string, time.Time) {
			tok := issue(t, i)
			return flipAt(tok, strings.LastIndexByte(tok, '.')+10), t0
		}, wantMsg: "bad identity document signature"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			i, _ := newIssuer(t)
			tok, now := tc.setup(t, i)
			if hit := i.signed.signer(tok) != nil; hit != tc.hit {
				t.Errorf("in the cache: %v, want %v", hit, tc.hit)
			}
			d, err := i.Verify(tok, now)
			switch {
			case tc.wantMsg == "" && err != nil:
				t.Errorf("Verify: %v", err)
			case tc.wantMsg == "" && d.check() != nil:
				t.Errorf("Verify accepted %+v", d)
			case tc.wantMsg != "" && (!errors.Is(errors.Permission, err) || errors.Message(err) != tc.wantMsg):
				t.Errorf("Verify = %v, want Permission %q", err, tc.wantMsg)
			}
		})
	}
}

// TestSignedCacheSkipsSignature checks that a hit is one: a token recorded
// as signed is accepted without its signature checked, which is why only
// Issue records tokens.
func TestSignedCacheSkipsSignature(t *testing.T) {
	i, _ := newIssuer(t)
	tok := issue(t, i)
	forged := flipAt(tok, strings.LastIndexByte(tok, '.')+10)
	if _, err := i.Verify(forged, t0); err == nil {
		t.Fatal("a forged signature verified before it was recorded")
	}
	i.signed.add(forged, i.state.Load().signer, t0.Add(DefaultTTL), t0)
	if _, err := i.Verify(forged, t0); err != nil {
		t.Errorf("a recorded token went the signature path: %v", err)
	}
	ks, err := NewKeySet(i.Keys())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ks.Verify(forged, t0); err == nil {
		t.Error("a KeySet accepted a forged signature")
	}
}

// TestSignedCacheBound checks that the cache holds at most its bound, in
// issue order, and grows only as documents are signed.
func TestSignedCacheBound(t *testing.T) {
	i, _ := newIssuer(t)
	i.signed = newSignedCache(100)
	var toks []string
	for range 250 {
		toks = append(toks, issue(t, i))
	}
	if n := len(i.signed.m); n != 100 {
		t.Errorf("%d entries, want 100", n)
	}
	for j, tok := range toks {
		if hit := i.signed.signer(tok) != nil; hit != (j >= 150) {
			t.Errorf("token %d in the cache: %v", j, hit)
		}
		mustVerify(t, i, tok)
	}
	for _, tok := range toks[150:200] {
		Spent(i, tok)
	}
	if n := len(i.signed.m); n != 50 {
		t.Errorf("%d entries after 50 were redeemed, want 50", n)
	}
}

// TestSignedCacheConcurrent issues, verifies, redeems and rotates at once
// (run with -race), with a cache small enough to evict all along.
func TestSignedCacheConcurrent(t *testing.T) {
	ctx := context.Background()
	i, _ := newIssuer(t)
	i.signed = newSignedCache(64)
	nonces := NewMemNonceStore(0)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for n := range 200 {
				tok := issue(t, i)
				if _, err := Redeem(ctx, i, nonces, tok, t0); err != nil {
					errs <- fmt.Errorf("Redeem: %v", err)
					return
				}
				if _, err := Redeem(ctx, i, nonces, tok, t0); !errors.Is(errors.Permission, err) {
					errs <- fmt.Errorf("replay: %v, want kind Permission", err)
					return
				}
				if g == 0 && n%50 == 0 {
					if _, err := i.Rotate(ctx); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestSignedCacheMemory measures the memory an entry takes in a full
// cache, to size maxSigned.
func TestSignedCacheMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates about 10 MB")
	}
	const n = 1 << 16
	i, _ := newIssuer(t)
	toks := make([]string, n)
	for j := range toks {
		toks[j] = fmt.Sprint(j) // the cache keeps a digest, whatever the length
	}
	signer := i.state.Load().signer
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	c := newSignedCache(n)
	for _, tok := range toks {
		c.add(tok, signer, t0.Add(time.Hour), t0)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("%.0f bytes an entry, %.1f MiB for maxSigned (%d)", per, per*maxSigned/(1<<20), maxSigned)
	if per > 160 {
		t.Errorf("%.0f bytes an entry, more than the 160 budgeted", per)
	}
	runtime.KeepAlive(c)
	runtime.KeepAlive(toks)
}

// FuzzSignedCache checks that an Issuer, which skips the signature of the
// tokens it signed, answers as a KeySet of its public keys, which checks
// every signature, for any token at any time: the same document, or an
// error of the same kind and message.
func FuzzSignedCache(f *testing.F) {
	ctx := context.Background()
	i, _ := newIssuer(f)
	old := issue(f, i)
	if _, err := i.Rotate(ctx); err != nil {
		f.Fatal(err)
	}
	toks := []string{old, issue(f, i), issue(f, i)}
	ks, err := NewKeySet(i.Keys())
	if err != nil {
		f.Fatal(err)
	}
	for _, tok := range toks {
		for _, off := range []time.Duration{0, -ClockSkew - time.Second, DefaultTTL + ClockSkew, DefaultTTL} {
			f.Add(tok, int64(off))
		}
		f.Add(tok[:len(tok)-1], int64(0))
		f.Add(flipAt(tok, len(tok)/2), int64(0))
	}
	f.Fuzz(func(t *testing.T, token string, offset int64) {
		now := t0.Add(time.Duration(offset))
		d1, err1 := i.Verify(token, now)
		d2, err2 := ks.Verify(token, now)
		if (err1 == nil) != (err2 == nil) || errors.KindOf(err1) != errors.KindOf(err2) ||
			errors.Message(err1) != errors.Message(err2) || !reflect.DeepEqual(d1, d2) {
			t.Fatalf("cached issuer: %+v, %v; key set: %+v, %v", d1, err1, d2, err2)
		}
	})
}
