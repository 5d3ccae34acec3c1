package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"imgward"
)

// What several nodes share: leases, the local KMS's master key ring and the
// identity key ring (imgward.ClusterTx).

// TakeLease inserts the lease, or takes it over if owner already holds it
// or it has expired: one statement, as UseNonce, so that two nodes taking
// it at once cannot both succeed.
func (t *tx) TakeLease(ctx context.Context, name, owner string, expires, now time.Time) error {
	const op = "TakeLease"
	n, err := t.execCount(ctx, op,
		`INSERT INTO leases (name, owner, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
		WHERE leases.owner = excluded.owner OR leases.expires_at <= $4`,
		name, owner, micros(expires), micros(now))
	if err != nil {
		return err
	}
	if n == 0 {
		return t.d.wrap(op, conflict("lease "+name+" is held by another node"))
	}
	return nil
}

func (t *tx) Lease(ctx context.Context, name string) (*imgward.Lease, error) {
	var l imgward.Lease
	err := t.queryRow(ctx, `SELECT name, owner, expires_at FROM leases WHERE name = $1`, name).
		Scan(&l.Name, &l.Owner, usec{&l.ExpiresAt})
	if err != nil {
		return nil, t.d.wrap("Lease", err)
	}
	return &l, nil
}

func (t *tx) ReleaseLease(ctx context.Context, name, owner string) error {
	return t.exec(ctx, "ReleaseLease", `DELETE FROM leases WHERE name = $1 AND owner = $2`, name, owner)
}

func (t *tx) MasterKeyVersions(ctx context.Context, id imgward.KeyID) ([]imgward.MasterKeyVersion, error) {
	vs := []imgward.MasterKeyVersion{}
	err := t.list(ctx, "MasterKeyVersions", `SELECT key_id, version, wrapped, created_at FROM master_keys
		WHERE key_id = $1 ORDER BY version`, []any{string(id)}, func(r *sql.Rows) error {
		var v imgward.MasterKeyVersion
		var n int64
		err := r.Scan(&v.KeyID, &n, &v.Wrapped, usec{&v.CreatedAt})
		v.Version = uint32(n)
		vs = append(vs, v)
		return err
	})
	return vs, err
}

func (t *tx) CreateMasterKeyVersion(ctx context.Context, v *imgward.MasterKeyVersion) error {
	return t.exec(ctx, "CreateMasterKeyVersion",
		`INSERT INTO master_keys (key_id, version, wrapped, created_at) VALUES ($1, $2, $3, $4)`,
		string(v.KeyID), int64(v.Version), v.Wrapped, micros(v.CreatedAt))
}

func (t *tx) DeleteMasterKeyVersion(ctx context.Context, id imgward.KeyID, version uint32) error {
	return t.execOne(ctx, "DeleteMasterKeyVersion", `DELETE FROM master_keys WHERE key_id = $1 AND version = $2`,
		string(id), int64(version))
}

func (t *tx) IdentityKeys(ctx context.Context) ([]imgward.IdentityKey, error) {
	ks := []imgward.IdentityKey{}
	err := t.list(ctx, "IdentityKeys", `SELECT kid, public, seed_key_id, seed_version, seed_wrapped, created_at, is_current
		FROM identity_keys ORDER BY created_at DESC, kid`, nil, func(r *sql.Rows) error {
		var k imgward.IdentityKey
		var n int64
		err := r.Scan(&k.KID, &k.Public, &k.Seed.KeyID, &n, &k.Seed.Ciphertext, usec{&k.CreatedAt}, &k.Current)
		k.Seed.Version = uint32(n)
		if len(k.Seed.Ciphertext) == 0 {
			k.Seed.Ciphertext = nil
		}
		ks = append(ks, k)
		return err
	})
	return ks, err
}

func (t *tx) PutIdentityKey(ctx context.Context, k *imgward.IdentityKey) error {
	const op = "PutIdentityKey"
	if k.Current {
		err := t.exec(ctx, op, `UPDATE identity_keys SET is_current = $2, seed_key_id = '', seed_version = 0,
			seed_wrapped = $3 WHERE kid <> $1`, k.KID, false, []byte{})
		if err != nil {
			return err
		}
	}
	seed := k.Seed.Ciphertext
	if seed == nil {
		seed = []byte{}
	}
	return t.exec(ctx, op,
		`INSERT INTO identity_keys (kid, public, seed_key_id, seed_version, seed_wrapped, created_at, is_current)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (kid) DO UPDATE SET public = excluded.public, seed_key_id = excluded.seed_key_id,
		seed_version = excluded.seed_version, seed_wrapped = excluded.seed_wrapped,
		created_at = excluded.created_at, is_current = excluded.is_current`,
		k.KID, k.Public, string(k.Seed.KeyID), int64(k.Seed.Version), seed, micros(k.CreatedAt), k.Current)
}

func (t *tx) DeleteIdentityKey(ctx context.Context, kid string) error {
	return t.execOne(ctx, "DeleteIdentityKey", `DELETE FROM identity_keys WHERE kid = $1`, kid)
}
