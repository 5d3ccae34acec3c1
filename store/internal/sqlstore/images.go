package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"

	"imgward"
	"imgward/errors"
)

// imageCols and imageArgs list an image's columns in one order, shared by
// INSERT, UPDATE and SELECT.
const imageCols = `id, name, owner, status, visibility, protected, disk_format, container_format,
	min_disk, min_ram, size, checksum, os_hash_algo, os_hash_value, tags, properties,
	created_at, updated_at, blob_key`

// imageSelect is imageCols and the columns that only reads return: the
// quarantine is set by SetQuarantine alone, so that an UpdateImage of a
// record read before a flag cannot lift it; the product code by
// SetProductCode. The code comes with the row (one primary-key probe), so
// that a launch of an image without one needs no query of its own to know
// it. The subquery's unqualified id is the outer row's (image_product_codes
// has no id column), which keeps it right whatever the outer query calls
// the images table.
const imageSelect = imageCols + `, quarantined,
	COALESCE((SELECT pc.product_code FROM image_product_codes pc WHERE pc.image_id = id), '')`

// imageArgs returns img's column values in the order of imageCols. Tags and
// properties are JSON text: lists of strings and string maps that are always
// read and written whole.
func imageArgs(img *imgward.Image) ([]any, error) {
	tags, props := img.Tags, img.Properties
	if tags == nil {
		tags = []string{}
	}
	if props == nil {
		props = map[string]string{}
	}
	tj, err := json.Marshal(tags)
	if err != nil {
		return nil, err
	}
	pj, err := json.Marshal(props)
	if err != nil {
		return nil, err
	}
	return []any{string(img.ID), img.Name, string(img.Owner), string(img.Status),
		string(img.Visibility), img.Protected, img.DiskFormat, img.ContainerFormat,
		img.MinDisk, img.MinRAM, img.Size, img.Checksum, img.OSHashAlgo, img.OSHashValue,
		string(tj), string(pj), micros(img.CreatedAt), micros(img.UpdatedAt), img.Blob}, nil
}

func scanImage(r interface{ Scan(...any) error }) (imgward.Image, error) {
	var s imageScan
	if err := r.Scan(s.dests()...); err != nil {
		return s.img, err
	}
	return s.img, s.finish()
}

// imageScan is an image being scanned from imageSelect's columns: its
// tags and properties arrive as JSON text, which finish decodes.
type imageScan struct {
	img         imgward.Image
	tags, props string
}

func (s *imageScan) dests() []any {
	img := &s.img
	return []any{&img.ID, &img.Name, &img.Owner, &img.Status, &img.Visibility, &img.Protected,
		&img.DiskFormat, &img.ContainerFormat, &img.MinDisk, &img.MinRAM, &img.Size,
		&img.Checksum, &img.OSHashAlgo, &img.OSHashValue, &s.tags, &s.props,
		usec{&img.CreatedAt}, usec{&img.UpdatedAt}, &img.Blob, &img.Quarantined, &img.ProductCode}
}

func (s *imageScan) finish() error {
	img := &s.img
	// Always non-nil, so that callers and tests see one form for "none".
	img.Tags, img.Properties = []string{}, map[string]string{}
	if err := json.Unmarshal([]byte(s.tags), &img.Tags); err != nil {
		return errors.E(errors.Internal, err)
	}
	if err := json.Unmarshal([]byte(s.props), &img.Properties); err != nil {
		return errors.E(errors.Internal, err)
	}
	return nil
}

func (t *tx) CreateImage(ctx context.Context, img *imgward.Image) error {
	args, err := imageArgs(img)
	if err != nil {
		return t.d.wrap("CreateImage", errors.E(errors.Invalid, err))
	}
	return t.exec(ctx, "CreateImage", `INSERT INTO images (`+imageCols+`) VALUES (
		$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`, args...)
}

func (t *tx) Image(ctx context.Context, id imgward.ImageID) (*imgward.Image, error) {
	row := t.queryRow(ctx, `SELECT `+imageSelect+` FROM images WHERE id = $1`, string(id))
	img, err := scanImage(row)
	if err != nil {
		return nil, t.d.wrap("Image", err)
	}
	return &img, nil
}

func (t *tx) UpdateImage(ctx context.Context, img *imgward.Image) error {
	args, err := imageArgs(img)
	if err != nil {
		return t.d.wrap("UpdateImage", errors.E(errors.Invalid, err))
	}
	return t.execOne(ctx, "UpdateImage", `UPDATE images SET
		name = $2, owner = $3, status = $4, visibility = $5, protected = $6, disk_format = $7,
		container_format = $8, min_disk = $9, min_ram = $10, size = $11, checksum = $12,
		os_hash_algo = $13, os_hash_value = $14, tags = $15, properties = $16,
		created_at = $17, updated_at = $18, blob_key = $19
		WHERE id = $1`, args...)
}

// DeleteImage deletes the image; its members go with it by ON DELETE
// CASCADE. Instances are kept: they record launches that happened.
func (t *tx) DeleteImage(ctx context.Context, id imgward.ImageID) error {
	return t.execOne(ctx, "DeleteImage", `DELETE FROM images WHERE id = $1`, string(id))
}

func (t *tx) ImagesInStatus(ctx context.Context, s imgward.ImageStatus) ([]imgward.Image, error) {
	return t.images(ctx, "ImagesInStatus",
		`SELECT `+imageSelect+` FROM images WHERE status = $1 ORDER BY created_at, id`,
		[]any{string(s)})
}

func (t *tx) images(ctx context.Context, op, query string, args []any) ([]imgward.Image, error) {
	imgs := []imgward.Image{}
	err := t.list(ctx, op, query, args, func(r *sql.Rows) error {
		img, err := scanImage(r)
		imgs = append(imgs, img)
		return err
	})
	return imgs, err
}
