#!/bin/sh
# seaweedfs-build.sh prints the path of a SeaweedFS `weed` binary, the real
# S3 server that the tests of blob/s3 run against on loopback, building it
# once if it is not cached.
#
# `go install …/weed@version` is refused because SeaweedFS's go.mod has
# replace directives, so this downloads the module at a pinned version from
# the Go module proxy (go mod download checks it against the checksum
# database), builds it from a writable copy with -mod=readonly (its go.sum
# checks every dependency) and no cgo. None of SeaweedFS's code is kept in
# this repository. SeaweedFS is Apache-2.0.
#
#	scripts/seaweedfs-build.sh      build if needed; print the binary's path
#
# The binary is cached in $IMGWARD_SEAWEEDFS_CACHE, default
# ${XDG_CACHE_HOME:-~/.cache}/imgward, and reused. Building takes about
# three minutes on two idle cores (half an hour on a busy machine) and
# leaves a 230 MB binary. Only the path goes
# to stdout.
set -eu

version=v0.0.0-20261109003541-7506e5f91cd6
module=github.com/seaweedfs/seaweedfs

log() { echo "seaweedfs-build: $*" >&2; }
die() { log "error: $*"; exit 1; }

cache="${IMGWARD_SEAWEEDFS_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/imgward}"
out="$cache/seaweedfs-$version/weed"
if [ -x "$out" ]; then
	echo "$out"
	exit 0
fi

command -v go >/dev/null || die "go is missing"
start=$(date +%s)
w=$(mktemp -d)
trap 'chmod -R u+w "$w" 2>/dev/null; rm -rf "$w"' EXIT INT TERM

log "downloading $module@$version"
# Outside any module, so that this repository's go.mod is not consulted.
dir=$(cd "$w" && GOFLAGS= GO111MODULE=on go mod download -json "$module@$version" |
	sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
[ -n "$dir" ] && [ -d "$dir" ] || die "go mod download printed no module directory"
# The module cache is read-only, and the build writes nothing there, but a
# copy keeps the cache pristine whatever the build does.
cp -r "$dir" "$w/src"
chmod -R u+w "$w/src"

log "building weed (about three minutes)"
(
	cd "$w/src"
	GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0 GOTOOLCHAIN=local \
		go build -trimpath -o "$w/weed" ./weed
) >&2 || die "go build of weed failed"
"$w/weed" version >/dev/null 2>&1 || die "the built weed does not run"

mkdir -p "$(dirname "$out")"
cp "$w/weed" "$out.tmp.$$"
mv -f "$out.tmp.$$" "$out"
log "built $out in $(($(date +%s) - start))s"
echo "$out"
