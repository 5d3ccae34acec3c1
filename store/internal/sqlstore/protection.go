package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"imgward"
)

// The records of image protection: wrapped data keys, used identity nonces
// and fingerprints. Flags are in flags.go.

// CreateImageKey records a wrapped data key; the foreign key makes the key
// of an absent image NotExist.
func (t *tx) CreateImageKey(ctx context.Context, k *imgward.ImageKey) error {
	return t.exec(ctx, "CreateImageKey",
		`INSERT INTO image_keys (image_id, owner, mode, key_id, key_version, wrapped, created_at, sealed_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		string(k.ImageID), string(k.Owner), string(k.Mode), string(k.Wrapped.KeyID),
		int64(k.Wrapped.Version), k.Wrapped.Ciphertext, micros(k.CreatedAt), k.SealedAt)
}

func (t *tx) ImageKey(ctx context.Context, id imgward.ImageID) (*imgward.ImageKey, error) {
	var k imgward.ImageKey
	var version int64
	row := t.queryRow(ctx, `SELECT `+keyCols+` FROM image_keys WHERE image_id = $1`, string(id))
	if err := row.Scan(keyDests(&k, &version)...); err != nil {
		return nil, t.d.wrap("ImageKey", err)
	}
	k.Wrapped.Version = uint32(version)
	return &k, nil
}

const keyCols = `image_id, owner, mode, key_id, key_version, wrapped, created_at, sealed_at`

// keyDests lists where keyCols scan to, the version to version (a BIGINT
// column; the caller converts it).
func keyDests(k *imgward.ImageKey, version *int64) []any {
	return []any{&k.ImageID, &k.Owner, &k.Mode, &k.Wrapped.KeyID, version, &k.Wrapped.Ciphertext,
		usec{&k.CreatedAt}, &k.SealedAt}
}

func (t *tx) ListImageKeys(ctx context.Context, after imgward.ImageID, limit int) ([]imgward.ImageKey, error) {
	ks := []imgward.ImageKey{}
	err := t.list(ctx, "ListImageKeys", `SELECT `+keyCols+`
		FROM image_keys WHERE image_id > $1 ORDER BY image_id LIMIT $2`, []any{string(after), limit}, func(r *sql.Rows) error {
		var k imgward.ImageKey
		var version int64
		err := r.Scan(keyDests(&k, &version)...)
		k.Wrapped.Version = uint32(version)
		ks = append(ks, k)
		return err
	})
	return ks, err
}

func (t *tx) UpdateImageKey(ctx context.Context, k *imgward.ImageKey) error {
	return t.execOne(ctx, "UpdateImageKey",
		`UPDATE image_keys SET owner = $2, mode = $3, key_id = $4, key_version = $5, wrapped = $6, created_at = $7,
		sealed_at = $8 WHERE image_id = $1`,
		string(k.ImageID), string(k.Owner), string(k.Mode), string(k.Wrapped.KeyID),
		int64(k.Wrapped.Version), k.Wrapped.Ciphertext, micros(k.CreatedAt), k.SealedAt)
}

// UseNonce inserts the nonce, or takes over its record if that has
// expired; a live record changes nothing, which is the Conflict. One
// statement, so that two nodes redeeming at once cannot both succeed.
func (t *tx) UseNonce(ctx context.Context, nonce string, expiresAt, now time.Time) error {
	const op = "UseNonce"
	n, err := t.execCount(ctx, op,
		`INSERT INTO identity_nonces (nonce, expires_at) VALUES ($1, $2)
		ON CONFLICT (nonce) DO UPDATE SET expires_at = excluded.expires_at
		WHERE identity_nonces.expires_at <= $3`,
		nonce, micros(expiresAt), micros(now))
	if err != nil {
		return err
	}
	if n == 0 {
		return t.d.wrap(op, conflict("nonce already used"))
	}
	return nil
}

func (t *tx) PurgeNonces(ctx context.Context, now time.Time) (int, error) {
	n, err := t.execCount(ctx, "PurgeNonces", `DELETE FROM identity_nonces WHERE expires_at <= $1`, micros(now))
	return int(n), err
}

func (t *tx) PutFingerprint(ctx context.Context, f *imgward.ImageFingerprint) error {
	sums := f.Sums
	if sums == nil {
		sums = []byte{} // an empty image has no chunks; the column is NOT NULL
	}
	return t.exec(ctx, "PutFingerprint",
		`INSERT INTO image_fingerprints (image_id, owner, sums) VALUES ($1, $2, $3)
		ON CONFLICT (image_id) DO UPDATE SET owner = excluded.owner, sums = excluded.sums`,
		string(f.ImageID), string(f.Owner), sums)
}

func (t *tx) ProtectedFingerprints(ctx context.Context, notOwner imgward.ProjectID) ([]imgward.ImageFingerprint, error) {
	fs := []imgward.ImageFingerprint{}
	err := t.list(ctx, "ProtectedFingerprints",
		`SELECT f.image_id, f.owner, f.sums FROM image_fingerprints f
		JOIN image_keys k ON k.image_id = f.image_id
		WHERE f.owner <> $1 ORDER BY f.image_id`,
		[]any{string(notOwner)}, func(r *sql.Rows) error {
			var f imgward.ImageFingerprint
			err := r.Scan(&f.ImageID, &f.Owner, &f.Sums)
			fs = append(fs, f)
			return err
		})
	return fs, err
}

func (t *tx) OwnerFingerprints(ctx context.Context, owner imgward.ProjectID) ([]imgward.ImageFingerprint, error) {
	fs := []imgward.ImageFingerprint{}
	err := t.list(ctx, "OwnerFingerprints",
		`SELECT image_id, owner, sums FROM image_fingerprints WHERE owner = $1 ORDER BY image_id`,
		[]any{string(owner)}, func(r *sql.Rows) error {
			var f imgward.ImageFingerprint
			err := r.Scan(&f.ImageID, &f.Owner, &f.Sums)
			fs = append(fs, f)
			return err
		})
	return fs, err
}

func (t *tx) AddStaleBlob(ctx context.Context, b *imgward.StaleBlob) error {
	return t.exec(ctx, "AddStaleBlob", `INSERT INTO stale_blobs (blob_key, image_id, created_at) VALUES ($1, $2, $3)`,
		b.Key, string(b.ImageID), micros(b.CreatedAt))
}

func (t *tx) DeleteStaleBlob(ctx context.Context, key string) error {
	return t.execOne(ctx, "DeleteStaleBlob", `DELETE FROM stale_blobs WHERE blob_key = $1`, key)
}

func (t *tx) StaleBlobs(ctx context.Context, limit int) ([]imgward.StaleBlob, error) {
	bs := []imgward.StaleBlob{}
	err := t.list(ctx, "StaleBlobs",
		`SELECT blob_key, image_id, created_at FROM stale_blobs ORDER BY created_at, blob_key LIMIT $1`, []any{limit},
		func(r *sql.Rows) error {
			var b imgward.StaleBlob
			err := r.Scan(&b.Key, &b.ImageID, usec{&b.CreatedAt})
			bs = append(bs, b)
			return err
		})
	return bs, err
}
