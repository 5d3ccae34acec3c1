#!/bin/sh
# test-deps.sh installs, from Debian's packages, the programs that the tests
# use for real and that are missing. It runs as root on a fresh machine; it
# runs apt-get update only when something must be installed.
#
#	scripts/test-deps.sh            the packages of make test
#	scripts/test-deps.sh bench      and those of make bench
set -eu

need=""
want() { # want PACKAGE FILE: the package provides FILE
	[ -e "$2" ] || need="$need $1"
}
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need="$need postgresql"
want softhsm2 /usr/bin/softhsm2-util
want skopeo /usr/bin/skopeo
want dpkg-dev /usr/bin/dpkg-source # scripts/skopeo-build.sh unpacks skopeo's source
want debian-archive-keyring /usr/share/keyrings/debian-archive-keyring.gpg
want qemu-utils /usr/bin/qemu-img
want qemu-system-x86 /usr/bin/qemu-system-x86_64 # introspect/vmi boots a VM under TCG
want curl /usr/bin/curl # scripts/s3-test-server.sh checks the server with a signed request
# scripts/testguest.sh: the guests of introspect/vmi's memory tests
want busybox-static /bin/busybox
want cpio /usr/bin/cpio
want xz-utils /usr/bin/xz
ls /boot/vmlinuz-*-amd64 >/dev/null 2>&1 || need="$need linux-image-amd64 linux-headers-amd64"
# introspect/vmi/guest builds a test kernel module (testdata/hideproc) for
# the guests' kernel, the newest one: its headers, gcc and make
if newest=$(ls /boot/vmlinuz-*-amd64 2>/dev/null | sort -V | tail -n 1) && [ -n "$newest" ]; then
	v=${newest#/boot/vmlinuz-}
	want "linux-headers-$v" "/usr/src/linux-headers-$v/Makefile"
fi
want gcc /usr/bin/gcc
want make /usr/bin/make
want python3-cryptography /usr/lib/python3/dist-packages/cryptography # seal/testdata/kat_v1.py
# scripts/keystone-test-server.sh and the OpenStack client tests (api/openstack_test.go)
want python3-keystone /usr/bin/keystone-wsgi-public
want python3-glanceclient /usr/bin/glance
want python3-openstackclient /usr/bin/openstack
want python3-openstacksdk /usr/lib/python3/dist-packages/openstack
want chromium /usr/bin/chromium # the dashboard's browser tests (cmd/imgward/browser_test.go)
if [ "${1:-}" = bench ]; then
	want python3-sklearn /usr/lib/python3/dist-packages/sklearn
	want age /usr/bin/age
	want wrk /usr/bin/wrk
	# scripts/bench-cluster.sh: wrk's processor time, and PostgreSQL's backends
	want time /usr/bin/time
	want procps /usr/bin/pgrep
fi
need=$(echo "$need" | tr ' ' '\n' | sort -u | tr '\n' ' ')
if [ -z "$(echo "$need" | tr -d ' ')" ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "test-deps: missing Debian packages:$need; run as root: apt-get install -y$need" >&2
	exit 1
fi
echo "test-deps: installing$need" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $need >&2
