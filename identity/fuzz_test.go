package identity

import (
	"strings"
	"testing"
	"time"
)

// FuzzVerify checks that Verify never panics, and that whatever it accepts
// is a well-formed document valid at the time given.
func FuzzVerify(f *testing.F) {
	i, _ := newIssuer(f)
	good := issue(f, i)
	parts := strings.Split(good, ".")
	f.Add(good, int64(0))
	f.Add(parts[0]+"."+parts[1]+".", int64(0))
	f.Add(parts[0]+".."+parts[2], int64(0))
	f.Add("eyJhbGciOiJub25lIn0."+parts[1]+".", int64(0))
	f.Add(`{"payload":"","signatures":[]}`, int64(0))
	f.Add("....", int64(-1))
	f.Add("", int64(1<<40))
	f.Fuzz(func(t *testing.T, token string, offset int64) {
		now := t0.Add(time.Duration(offset))
		d, err := i.Verify(token, now)
		if err != nil {
			return
		}
		if err := d.check(); err != nil {
			t.Fatalf("Verify accepted a malformed document: %v", err)
		}
		if now.Add(ClockSkew).Before(d.IssuedAt) || !now.Before(d.ExpiresAt.Add(ClockSkew)) {
			t.Fatalf("Verify accepted a document outside its validity at %v: %+v", now, d)
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	i, _ := newIssuer(b)
	tok := issue(b, i)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := i.Verify(tok, t0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyUncached is BenchmarkVerify for a token that the issuer
// does not hold signed (another node's, or evicted): the signature path,
// with the cache's lookup on top.
func BenchmarkVerifyUncached(b *testing.B) {
	i, _ := newIssuer(b)
	tok := issue(b, i)
	i.Redeemed(tok)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := i.Verify(tok, t0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIssue(b *testing.B) {
	i, _ := newIssuer(b)
	b.ReportAllocs()
	for b.Loop() {
		d := sampleDoc()
		if _, err := i.Issue(&d, t0); err != nil {
			b.Fatal(err)
		}
	}
}
