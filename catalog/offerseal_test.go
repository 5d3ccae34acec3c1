package catalog_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"imgward"
	"imgward/catalog"
)

// TestSweepBlobs checks which stale blobs a sweep removes: those no image
// names, once no job holds their image's seal lease (a node that alone
// uses its store, at its start, ignores the leases); the data an image
// names stays, whatever the records say.
func TestSweepBlobs(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, catalog.WithNode("a", time.Minute))
	st, blobs, clk, cat, admin := e.st, e.blobs, e.clk, e.cat, e.admin
	var err error
	var imgs [2]*imgward.Image
	for i := range imgs {
		if imgs[i], err = cat.CreateImage(ctx, admin, map[string]any{"name": "x", "disk_format": "raw", "container_format": "bare"}); err != nil {
			t.Fatal(err)
		}
		if imgs[i], err = cat.Upload(ctx, admin, imgs[i].ID, strings.NewReader("data")); err != nil {
			t.Fatal(err)
		}
	}
	free, busy := string(imgs[0].ID), string(imgs[1].ID)
	stale := map[string]imgward.ImageID{
		free:          imgs[0].ID, // the image's own data: stays
		free + "-s01": imgs[0].ID, // no record names it: goes
		busy + "-s02": imgs[1].ID, // its image's seal lease lives: stays until a start
	}
	err = st.Update(ctx, func(tx imgward.Tx) error {
		for key, img := range stale {
			if key != free {
				if _, err := blobs.Put(ctx, key, bytes.NewReader([]byte("sealed")), 100); err != nil {
					return err
				}
			}
			if err := tx.AddStaleBlob(ctx, &imgward.StaleBlob{Key: key, ImageID: img, CreatedAt: clk.Now()}); err != nil {
				return err
			}
		}
		return tx.TakeLease(ctx, "seal/"+busy, "another node", clk.Now().Add(time.Minute), clk.Now())
	})
	if err != nil {
		t.Fatal(err)
	}
	exists := func(key string) bool {
		rc, _, err := blobs.Open(ctx, key)
		if err == nil {
			rc.Close()
		}
		return err == nil
	}
	if n, err := cat.SweepBlobs(ctx, false); err != nil || n != 1 {
		t.Fatalf("SweepBlobs = %d, %v; want 1", n, err)
	}
	if !exists(free) || exists(free+"-s01") || !exists(busy+"-s02") {
		t.Errorf("after a sweep: %s %v, %s-s01 %v, %s-s02 %v; want true, false, true",
			free, exists(free), free, exists(free+"-s01"), busy, exists(busy+"-s02"))
	}
	if n, err := cat.SweepBlobs(ctx, true); err != nil || n != 1 || exists(busy+"-s02") {
		t.Errorf("SweepBlobs at a start = %d, %v (blob left: %v); want 1", n, err, exists(busy+"-s02"))
	}
	if n, err := cat.SweepBlobs(ctx, false); err != nil || n != 0 {
		t.Errorf("SweepBlobs with nothing left = %d, %v; want 0", n, err)
	}
	if got, err := cat.Download(ctx, admin, imgs[0].ID, false); err != nil {
		t.Errorf("download after the sweeps: %v", err)
	} else {
		got.Body.Close()
	}
}
