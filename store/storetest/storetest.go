// Package storetest is the conformance suite of imgward.Store: one set of
// tests that every backend must pass, so that the backends cannot drift
// apart. A backend's test calls Run with a function that opens a new, empty
// store.
package storetest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"imgward"
	"imgward/errors"
)

// Run runs the suite. open must return a new, empty store for each call and
// close it when t ends (t.Cleanup).
func Run(t *testing.T, open func(t *testing.T) imgward.Store) {
	tests := []struct {
		name string
		fn   func(*testing.T, imgward.Store)
	}{
		{"Projects", testProjects},
		{"Users", testUsers},
		{"Tokens", testTokens},
		{"Publishers", testPublishers},
		{"Images", testImages},
		{"DeleteImage", testDeleteImage},
		{"ImagesInStatus", testImagesInStatus},
		{"Members", testMembers},
		{"ListImagesVisibility", testListImagesVisibility},
		{"ListImagesPages", testListImagesPages},
		{"ListImagesInvalid", testListImagesInvalid},
		{"ListImagesSorted", testListImagesSorted},
		{"ListImagesTags", testListImagesTags},
		{"Instances", testInstances},
		{"ListInstances", testListInstances},
		{"LateWrites", testLateWrites},
		{"ImageMember", testImageMember},
		{"TokenImageMember", testTokenImageMember},
		{"Audit", testAudit},
		{"AuditTree", testAuditTree},
		{"AuditConcurrent", func(t *testing.T, s imgward.Store) {
			AppendConcurrently(t, []imgward.Store{s}, 8, 10)
			if got := len(VerifyAudit(t, s)); got != 80 {
				t.Errorf("audit log has %d entries, want 80", got)
			}
		}},
		{"InstanceRefs", testInstanceRefs},
		{"Snapshots", testSnapshots},
		{"Idempotency", testIdempotency},
		{"RolesAndTrust", testRolesAndTrust},
		{"Baselines", testBaselines},
		{"Verdicts", testVerdicts},
		{"Events", testEvents},
		{"Quarantine", testQuarantine},
		{"ImageKeys", testImageKeys},
		{"ListImageKeys", testListImageKeys},
		{"ReleaseContext", testReleaseContext},
		{"Nonces", testNonces},
		{"NoncesConcurrent", testNoncesConcurrent},
		{"Fingerprints", testFingerprints},
		{"Flags", testFlags},
		{"Offers", testOffers},
		{"Subscriptions", testSubscriptions},
		{"SubscribeConcurrent", testSubscribeConcurrent},
		{"ProductCodes", testProductCodes},
		{"Entitlement", testEntitlement},
		{"ImageBlob", testImageBlob},
		{"StaleBlobs", testStaleBlobs},
		{"Usage", testUsage},
		{"Leases", testLeases},
		{"MasterKeys", testMasterKeys},
		{"IdentityKeys", testIdentityKeys},
		{"UpdateRollsBack", testUpdateRollsBack},
		{"ViewCannotWrite", testViewCannotWrite},
		{"ViewOne", testViewOne},
		{"TimeRoundTrip", testTimeRoundTrip},
		{"HotRaces", func(t *testing.T, s imgward.Store) { HotRaces(t, []imgward.Store{s}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

// base is the time the fixtures are made at: microseconds, in UTC, as a
// store returns them.
var base = time.Date(2025, 3, 14, 15, 9, 26, 535897000, time.UTC)

// at returns base plus sec seconds.
func at(sec int) time.Time { return base.Add(time.Duration(sec) * time.Second) }

func ctx(t *testing.T) context.Context { return t.Context() }

// update runs fn in an Update and fails the test on error.
func update(t *testing.T, s imgward.Store, fn func(tx imgward.Tx) error) {
	t.Helper()
	if err := s.Update(ctx(t), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// view runs fn in a View and fails the test on error.
func view(t *testing.T, s imgward.Store, fn func(tx imgward.Tx) error) {
	t.Helper()
	if err := s.View(ctx(t), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

// wantKind fails the test unless err has the given kind.
func wantKind(t *testing.T, what string, err error, kind errors.Kind) {
	t.Helper()
	if !errors.Is(kind, err) {
		t.Errorf("%s: error %v (kind %v), want kind %v", what, err, errors.KindOf(err), kind)
	}
}

// Deterministic identifiers in the forms imgward uses.

func projectID(n int) imgward.ProjectID { return imgward.ProjectID(fmt.Sprintf("%032x", n)) }
func userID(n int) imgward.UserID       { return imgward.UserID(fmt.Sprintf("%032x", 0x1000+n)) }
func imageID(n int) imgward.ImageID {
	return imgward.ImageID(fmt.Sprintf("00000000-0000-4000-8000-%012x", n))
}
func instanceID(n int) imgward.InstanceID { return imgward.InstanceID(fmt.Sprintf("i-%016x", n)) }

func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// newImage returns a fully set image, so that a round trip checks every
// field.
func newImage(n int, owner imgward.ProjectID, vis imgward.Visibility, created time.Time) *imgward.Image {
	return &imgward.Image{
		ID:              imageID(n),
		Name:            fmt.Sprintf("image-%d", n),
		Owner:           owner,
		Status:          imgward.StatusActive,
		Visibility:      vis,
		Protected:       n%2 == 0,
		DiskFormat:      "qcow2",
		ContainerFormat: "bare",
		MinDisk:         10 + n,
		MinRAM:          512 + n,
		Size:            1<<33 + int64(n), // above 32 bits
		Checksum:        fmt.Sprintf("%032x", n),
		OSHashAlgo:      "sha512",
		OSHashValue:     fmt.Sprintf("%0128x", n),
		Tags:            []string{"linux", fmt.Sprintf("n%d", n)},
		Properties:      map[string]string{"os_distro": "debian", "note": "Grüße ✓"},
		CreatedAt:       created,
		UpdatedAt:       created.Add(time.Minute),
	}
}
