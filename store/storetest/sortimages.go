package storetest

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"

	"imgward"
	"imgward/errors"
)

// sortFixture creates 20 images with few distinct names, disk formats and
// creation times, so that every order needs its tie-breakers.
func sortFixture(t *testing.T, s imgward.Store) []imgward.Image {
	var all []imgward.Image
	update(t, s, func(tx imgward.Tx) error {
		for _, n := range rand.Perm(20) {
			img := newImage(n, pa, imgward.Public, at(n/4))
			img.Name = fmt.Sprintf("name-%d", n%3)
			if n%5 == 0 {
				img.DiskFormat = "raw"
			}
			if n%2 == 1 {
				img.Tags = append(img.Tags, "odd")
			}
			all = append(all, *img)
			if err := tx.CreateImage(ctx(t), img); err != nil {
				return err
			}
		}
		return nil
	})
	return all
}

// sortValue is an image's value of a sort attribute, for the expected order.
func sortValue(img *imgward.Image, attr string) string {
	switch attr {
	case "name":
		return img.Name
	case "disk_format":
		return img.DiskFormat
	case "min_disk":
		return fmt.Sprintf("%08d", img.MinDisk)
	case "created_at":
		return fmt.Sprintf("%020d", img.CreatedAt.UnixMicro())
	case "id":
		return string(img.ID)
	}
	panic("sortValue: " + attr)
}

func testListImagesSorted(t *testing.T, s imgward.Store) {
	all := sortFixture(t, s)
	orders := [][]imgward.SortKey{
		{{Attr: "name"}},
		{{Attr: "name", Desc: true}, {Attr: "disk_format"}},
		{{Attr: "disk_format"}, {Attr: "min_disk", Desc: true}},
		{{Attr: "created_at"}},
		{{Attr: "id"}},
	}
	for _, keys := range orders {
		full := append(slices.Clone(keys), imgward.SortKey{Attr: "created_at", Desc: true}, imgward.SortKey{Attr: "id", Desc: true})
		want := slices.Clone(all)
		slices.SortStableFunc(want, func(a, b imgward.Image) int {
			for _, k := range full {
				c := cmp.Compare(sortValue(&a, k.Attr), sortValue(&b, k.Attr))
				if k.Desc {
					c = -c
				}
				if c != 0 {
					return c
				}
			}
			return 0
		})
		view(t, s, func(tx imgward.Tx) error {
			for _, limit := range []int{0, 1, 3, 7} {
				got, err := allPages(t, tx, imgward.ImageFilter{Viewer: pb, Limit: limit, Sort: keys})
				if err != nil {
					return err
				}
				if diff := gocmp.Diff(ids(want), got); diff != "" {
					t.Errorf("sort %v limit %d (-want +got):\n%s", keys, limit, diff)
				}
			}
			return nil
		})
	}
	view(t, s, func(tx imgward.Tx) error {
		_, err := tx.ListImages(ctx(t), imgward.ImageFilter{Viewer: pb, Sort: []imgward.SortKey{{Attr: "checksum; DROP TABLE images"}}})
		wantKind(t, "unknown sort attribute", err, errors.Invalid)
		return nil
	})
}

func testListImagesTags(t *testing.T, s imgward.Store) {
	sortFixture(t, s)
	tests := []struct {
		tags []string
		want []imgward.ImageID
	}{
		{[]string{"odd"}, []imgward.ImageID{imageID(19), imageID(17), imageID(15), imageID(13), imageID(11), imageID(9), imageID(7), imageID(5), imageID(3), imageID(1)}},
		{[]string{"odd", "n7"}, []imgward.ImageID{imageID(7)}},
		{[]string{"n8", "odd"}, []imgward.ImageID{}},
		{[]string{`"n7"`}, []imgward.ImageID{}},
		{[]string{"n%"}, []imgward.ImageID{}},
		{[]string{"linux", "n0"}, []imgward.ImageID{imageID(0)}},
	}
	view(t, s, func(tx imgward.Tx) error {
		for _, tt := range tests {
			imgs, err := tx.ListImages(ctx(t), imgward.ImageFilter{Viewer: pb, Tags: tt.tags})
			if err != nil {
				return err
			}
			if diff := gocmp.Diff(tt.want, append([]imgward.ImageID{}, ids(imgs)...)); diff != "" {
				t.Errorf("tags %q (-want +got):\n%s", tt.tags, diff)
			}
		}
		return nil
	})
}
