#!/bin/sh
# skopeo-build.sh prints the path of a skopeo whose ocicrypt has key
# providers, for TestSkopeoInterop, building it once if it is not cached.
#
# Debian bookworm's skopeo 1.9.3 links Debian's ocicrypt 1.0.3, which has no
# key providers; skopeo 1.9.3's own go.mod names ocicrypt 1.1.5, which has.
# So this builds the same skopeo from Debian's own source package
# (skopeo 1.9.3+ds1-1, whose +ds1 tarball drops upstream's vendor/ but keeps
# go.mod and go.sum) with the modules that go.mod and go.sum name, from the
# Go module proxy: -mod=readonly, so go.sum checks every one and nothing is
# re-resolved. No cgo (upstream's DISABLE_CGO tags): no C library needed.
#
# apt-get source checks the .dsc and the tarballs against the hashes of the
# signed bookworm index; dpkg-source checks the tarballs against the .dsc
# (its warning that it cannot verify the uploader's signature on the .dsc is
# expected without debian-keyring: the index's signature covers the .dsc).
# None of skopeo's code is kept in this repository.
#
#	scripts/skopeo-build.sh         build if needed; print the binary's path
#
# The binary is cached in $IMGWARD_SKOPEO_CACHE, default
# ${XDG_CACHE_HOME:-~/.cache}/imgward, and reused. Building takes about a
# minute and a half from an empty Go module cache. Needs go, apt-get and
# dpkg-source (Debian's dpkg-dev; scripts/test-deps.sh installs it). Only the
# path goes to stdout.
set -eu

debver=1.9.3+ds1-1
tags="exclude_graphdriver_devicemapper exclude_graphdriver_btrfs containers_image_openpgp"
suite="http://deb.debian.org/debian bookworm main"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

log() { echo "skopeo-build: $*" >&2; }
die() { log "error: $*"; exit 1; }

cache="${IMGWARD_SKOPEO_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/imgward}"
out="$cache/skopeo-$debver-nocgo/skopeo"
if [ -x "$out" ]; then
	echo "$out"
	exit 0
fi

command -v go >/dev/null || die "go is missing"
command -v apt-get >/dev/null || die "apt-get is missing: this needs Debian's apt"
command -v dpkg-source >/dev/null || die "dpkg-source is missing (Debian's dpkg-dev; scripts/test-deps.sh installs it)"
[ -r "$keyring" ] || die "$keyring is missing (Debian's debian-archive-keyring)"

start=$(date +%s)
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT INT TERM
chmod 755 "$w"

# apt with a sources list, index and cache of its own: the system's apt
# sources and lists are left alone.
mkdir -p "$w/lists/partial" "$w/cache/archives/partial" "$w/dl"
echo "deb-src [signed-by=$keyring] $suite" >"$w/sources.list"
aptq() {
	apt-get -q \
		-o Dir::Etc::SourceList="$w/sources.list" -o Dir::Etc::SourceParts=/nonexistent \
		-o Dir::State::Lists="$w/lists" -o Dir::Cache="$w/cache" \
		-o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= "$@"
}
# apt downloads as the unprivileged _apt user where it can.
if [ "$(id -u)" -eq 0 ] && id _apt >/dev/null 2>&1; then
	chown _apt "$w/dl" "$w/lists/partial" "$w/cache/archives/partial"
fi
log "fetching Debian's skopeo $debver source"
aptq update >&2 || die "apt-get update of the bookworm source index failed"
# A point release of bookworm may replace this revision: then the one
# bookworm has is built instead (and cached under the same name), so that
# make test does not fail on an archive change; the ocicrypt check below
# still applies.
if ! (cd "$w/dl" && aptq source --download-only "skopeo=$debver" >&2); then
	log "skopeo $debver is no longer in bookworm; building the version it has now"
	(cd "$w/dl" && aptq source --download-only skopeo >&2) || die "apt-get source skopeo failed"
fi
dsc=$(ls "$w/dl"/skopeo_*.dsc 2>/dev/null | head -n 1)
[ -n "$dsc" ] || die "apt-get source left no skopeo .dsc"
log "unpacking $(basename "$dsc")"
dpkg-source -x "$dsc" "$w/src" >&2 || die "dpkg-source -x failed"

log "building skopeo (tags: $tags)"
(
	cd "$w/src"
	GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0 GOTOOLCHAIN=local \
		go build -trimpath -tags "$tags" -ldflags "-X main.gitCommit=debian-$debver" \
		-o "$w/skopeo" ./cmd/skopeo
) >&2 || die "go build of skopeo failed"

# The point of the build: an ocicrypt with key providers (1.1 or later).
oc=$(go version -m "$w/skopeo" | awk '$2 == "github.com/containers/ocicrypt" { print $3 }')
case "$oc" in
v1.0.* | "") die "the built skopeo links ocicrypt '${oc}', older than key providers" ;;
esac
"$w/skopeo" --version >/dev/null || die "the built skopeo does not run"

mkdir -p "$(dirname "$out")"
cp "$w/skopeo" "$out.tmp.$$"
mv -f "$out.tmp.$$" "$out"
log "built $out (ocicrypt $oc) in $(($(date +%s) - start))s"
echo "$out"
