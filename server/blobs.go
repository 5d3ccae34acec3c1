package server

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"imgward"
	"imgward/blob"
	"imgward/blob/s3"
	"imgward/errors"
)

// blobOpener opens a blob store backend from its URL.
type blobOpener func(ctx context.Context, cfg Config, u *url.URL) (imgward.BlobStore, error)

// BlobStores are the blob store backends, by the scheme of the URL that
// --blob takes. Without --blob, image data is in files in BlobDir.
var BlobStores = map[string]blobOpener{
	"file": func(ctx context.Context, cfg Config, u *url.URL) (imgward.BlobStore, error) {
		if u.Host != "" && u.Host != "localhost" || u.Path == "" || u.RawQuery != "" {
			return nil, errors.E(errors.Invalid, errors.Msg("want file:///absolute/directory"))
		}
		return blob.OpenNode(u.Path, cfg.Node)
	},
	"s3": func(ctx context.Context, cfg Config, u *url.URL) (imgward.BlobStore, error) {
		o, err := s3.ParseURL(u.String(), cfg.Getenv)
		if err != nil {
			return nil, err
		}
		return s3.Open(ctx, o)
	},
}

// BlobStoreSchemes lists the URL schemes of the blob store backends.
func BlobStoreSchemes() []string { return slices.Sorted(maps.Keys(BlobStores)) }

// openBlobs opens the blob store of cfg: the backend that cfg.Blob names,
// else files in cfg.BlobDir (default DataDir/blobs).
func openBlobs(ctx context.Context, cfg Config) (imgward.BlobStore, error) {
	if cfg.Blob == "" {
		dir := cfg.BlobDir
		if dir == "" {
			dir = filepath.Join(cfg.DataDir, "blobs")
		}
		return blob.OpenNode(dir, cfg.Node)
	}
	if cfg.BlobDir != "" {
		return nil, errors.E(errors.Invalid, errors.Msg("give --blob or --blob-dir, not both"))
	}
	u, err := url.Parse(cfg.Blob)
	if err != nil || u.Scheme == "" {
		return nil, errors.E(errors.Invalid, errors.Msg(fmt.Sprintf("--blob takes a URL: %s", strings.Join(BlobStoreSchemes(), "://… or ")+"://…")))
	}
	open, ok := BlobStores[u.Scheme]
	if !ok {
		return nil, errors.E(errors.Invalid, errors.Msg(fmt.Sprintf("unknown blob store %q: choose %s", u.Scheme, strings.Join(BlobStoreSchemes(), " or "))))
	}
	if cfg.Getenv == nil {
		cfg.Getenv = os.Getenv
	}
	return open(ctx, cfg, u)
}
